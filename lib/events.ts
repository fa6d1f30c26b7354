/** The custom event bus every tokenwatch event travels on. */
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';

export class Events extends Construct {
  readonly bus: EventBus;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', { description: 'tokenwatch: token lifecycle events' });
  }
}
