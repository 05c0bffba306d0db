// The host: a log service on an endpoint. The plugin gets a capability with SEND only, badge 42, and a rate
// limit of 20 messages a second (a burst of 20) that the host enforces as the receiver; after 30 lines the
// host revokes it, and nothing the plugin sends arrives any more.
import { debugPrintln, protectionDomain } from "isokit/microkit";
import { createEndpoint, getPerformanceStats, grantCap, receive, Rights } from "isokit/endpoints";

const PLUGIN_BADGE = 42;

export default protectionDomain({
  init() {
    const { cap } = createEndpoint();
    const forPlugin = cap.derive(Rights.SEND | Rights.GRANT | Rights.REVOKE, {
      badge: PLUGIN_BADGE,
      rateLimits: { maxMessagesPerSec: 20, maxBytesPerSec: 4096, burstMultiplier: 1 },
    });
    grantCap(forPlugin, "plugin", Rights.SEND, { name: "log" });
    let lines = 0;
    while (lines < 30) {
      const m = receive(cap, { timeout: 10_000 });
      if (m.badge !== PLUGIN_BADGE) continue;
      lines++;
      if (lines % 10 === 0) debugPrintln(`log[${m.badge}] ${new TextDecoder().decode(m.data)} (${lines} lines so far)`);
    }
    const revoked = forPlugin.revoke(); // the plugin's capability was derived from forPlugin: it goes too
    debugPrintln(`revoked ${revoked} capabilities; the plugin can no longer log`);
    const stats = getPerformanceStats();
    debugPrintln(`host IPC: ${stats.totalOperations} operations, fast path ${stats.fastPathPercent.toFixed(0)}%`);
  },
});
