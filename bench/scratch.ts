import * as fs from "node:fs";
import { startHosts, stopHosts, run, copyFile } from "../test/support/testhost";
import { recordProgramCommands } from "./lib/program";
async function main() {
  const [host] = await startHosts(1, { namePrefix: "rbench" });
  try {
    const cmds = await recordProgramCommands(host);
    const gen = fs.readFileSync("bench/tree/make-tree.py", "utf8");
    let r = await run(host, "python3 - /var/lib/replicated/legacy-data /srv/o 100000", { stdin: gen });
    const script = cmds.repair.stdin;
    fs.writeFileSync("/tmp/rx.sh", "PS4='+ $EPOCHREALTIME '; set -x\n" + script);
    await copyFile(host, "/tmp/rx.sh", "/tmp/rx.sh");
    for (let i = 0; i < 1; i++) {
      r = await run(host, `cat > /tmp/r.sh; chown -R -h 0:0 /var/lib/replicated /srv/o; time chown -R -h 0:0 /var/lib/replicated; t0=$(date +%s.%N); sh /tmp/r.sh ${cmds.uid} ${cmds.dockerGid}; t1=$(date +%s.%N); echo first $t0 $t1; t0=$(date +%s.%N); sh /tmp/r.sh ${cmds.uid} ${cmds.dockerGid}; t1=$(date +%s.%N); echo second $t0 $t1; chown -R -h 0:0 /var/lib/replicated /srv/o; (echo "PS4='+ \$EPOCHREALTIME '; set -x"; cat /tmp/r.sh) > /tmp/rx.sh; bash /tmp/rx.sh ${cmds.uid} ${cmds.dockerGid} 2>/tmp/trace1; bash /tmp/rx.sh ${cmds.uid} ${cmds.dockerGid} 2>/tmp/trace2`, { stdin: script });
      console.log(r.stdout, r.stderr);
    }
    for (const t of ["trace1", "trace2"]) {
      r = await run(host, `cat /tmp/${t}`);
      fs.writeFileSync(`/tmp/${t}`, r.stdout);
    }
  } finally { await stopHosts([host]); }
}
main().catch((e) => { console.error(e); process.exit(1); });
