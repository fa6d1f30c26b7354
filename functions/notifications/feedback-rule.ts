/**
 * SES's feedback events on the account's default bus, and the rule that takes tokenwatch's: a
 * module without dependencies, because the stack (lib/email-feedback.ts) and the local bus
 * (local/system.ts) read it before any handler is loaded, and a handler module's logger, made at
 * load, would not see the local stack's settings yet.
 */
export const sesEventSource = 'aws.ses';
export const sesFeedbackDetailTypes = {
  bounce: 'Email Bounced',
  complaint: 'Email Complaint Received',
} as const;

/**
 * The feedback rule, in EventBridge's own pattern form: the stack deploys it on the default bus
 * and the local bus applies it, so the two cannot differ. SES tags every event with the
 * configuration set the email was sent with, so the rule takes only this stage's: another
 * stage, or another application of the account, has its own.
 */
export const feedbackRulePattern = (configurationSetName: string) => ({
  source: [sesEventSource],
  'detail-type': [sesFeedbackDetailTypes.bounce, sesFeedbackDetailTypes.complaint],
  detail: { mail: { tags: { 'ses:configuration-set': [configurationSetName] } } },
});
