/*
 * DynamoDB Local, listening on 127.0.0.1 only.
 *
 * The official jar has no option for the address it listens on: its server is Jetty's
 * `new Server(port)`, which listens on every interface, so anyone on the network could read and
 * write the local table. This runs the jar's own start-up (the same command-line options), and
 * before the server starts, binds its connector to the loopback address. `local/services.ts`
 * runs it with `java -cp DynamoDBLocal.jar DynamoDbLocalOnLoopback.java` (Java's source-file
 * mode: nothing to build). test/local-services.test.ts checks the address.
 */
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class DynamoDbLocalOnLoopback {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    // The Jetty server is private to the proxy; a jar whose proxy no longer has it fails here,
    // at start, rather than quietly listening everywhere.
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server jetty = (Server) field.get(proxy);
    Connector[] connectors = jetty.getConnectors();
    if (connectors.length == 0) throw new IllegalStateException("DynamoDB Local has no connector");
    for (Connector connector : connectors) {
      if (!(connector instanceof ServerConnector serverConnector)) {
        throw new IllegalStateException("Cannot bind " + connector + " to 127.0.0.1");
      }
      serverConnector.setHost("127.0.0.1");
    }
    // What the jar's own main does next, but telemetry: a local test database sends none.
    proxy.start();
  }
}
