// Asks a real Kafka which broker coordinates each group and transactional id (FindCoordinator through the Java
// Admin client), so test/kafka-cluster.test.ts can check the coordinators test/kafka-cluster.ts computes.
// Runs as a single-file source program against the broker's own jars, nothing to build:
//   java -cp '.cache/kafka/libs/*' test/java/KafkaCoordinators.java <bootstrap> [commit:<topic>] group:<id>... txn:<id>...
// Prints one line per id: `group <id> <node id>` / `txn <id> <node id>`. Both must exist for the describe calls
// to answer: a transactional id that has initialised a producer id, a group with committed offsets; with
// commit:<topic> the groups first commit offset 0 of that topic's partition 0 (a standalone commit: no join).
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

public class KafkaCoordinators {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    List<String> groups = new ArrayList<>();
    List<String> txns = new ArrayList<>();
    String commitTopic = null;
    for (int i = 1; i < args.length; i++) {
      if (args[i].startsWith("group:")) groups.add(args[i].substring(6));
      else if (args[i].startsWith("txn:")) txns.add(args[i].substring(4));
      else if (args[i].startsWith("commit:")) commitTopic = args[i].substring(7);
      else throw new IllegalArgumentException("expected group:<id> or txn:<id>, got " + args[i]);
    }
    try (Admin admin = Admin.create(props)) {
      if (commitTopic != null) {
        for (String g : groups)
          admin.alterConsumerGroupOffsets(g, Map.of(new TopicPartition(commitTopic, 0), new OffsetAndMetadata(0))).all().get();
      }
      if (!groups.isEmpty()) {
        Map<String, ConsumerGroupDescription> found = admin.describeConsumerGroups(groups).all().get();
        for (String g : groups) System.out.println("group " + g + " " + found.get(g).coordinator().id());
      }
      if (!txns.isEmpty()) {
        Map<String, TransactionDescription> found = admin.describeTransactions(txns).all().get();
        for (String t : txns) System.out.println("txn " + t + " " + found.get(t).coordinatorId());
      }
    }
  }
}
