#!/usr/bin/env python3
"""Summarize a bench/cluster.sh results directory as Markdown on stdout.

"lost" is what had not arrived by the end of a step's drain (-drain 3s):
deliveries later than that count as lost.

Reads <peer>.json (sioperf fanout result) and <peer>.meta.json (node pids,
RSS before the load, redis-server RSS and CPU) for each peer.
"""
import json
import os
import sys


def mib(b):
    return "%.1f MiB" % (b / 1048576.0)


def lat(us):
    return "%.0f ms" % (us / 1000.0) if us >= 1000 else "%d µs" % us


def main(d):
    env = open(os.path.join(d, "env.txt")).read() if os.path.exists(os.path.join(d, "env.txt")) else ""
    print("# Cluster fan-out, %s\n" % os.path.basename(os.path.normpath(d)))
    print("```\n" + env.strip() + "\n```\n")
    print("| peer | nodes | subscribers opened | sustainable deliveries/s | broadcasts/s | p99 at it | lost (all steps) | node RSS at it (each) | RSS/conn (each node, above idle) | redis RSS | redis CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    details = []
    for peer in ("sioloop", "node"):
        rp, mp = os.path.join(d, peer + ".json"), os.path.join(d, peer + ".meta.json")
        if not os.path.exists(mp):
            continue
        meta = json.load(open(mp))
        try:
            res = json.loads(open(rp).read().strip().splitlines()[-1])
        except Exception as e:  # sioperf died before printing
            print("| %s | %d | %d wanted | no result (%s) | | | | | | | |" % (peer, meta["nodes"], meta["conns"], e))
            continue
        opened = res.get("open", {}).get("opened", 0)
        steps = res.get("steps") or []
        lost = sum(s["lost"] for s in steps)
        ms = res.get("max_sustainable")
        per = meta["conns"] / float(meta["nodes"])
        if ms:
            each = ms.get("server_rss_each") or []
            perconn = ["%.1f KiB" % ((a - b) / per / 1024.0) for a, b in zip(each, meta["node_rss_before"])]
            print("| %s | %d | %d of %d | %.0f | %.2f | %s | %d | %s | %s | %s | %.1f |" % (
                peer, meta["nodes"], opened, meta["conns"], ms["delivered_per_s"], ms["publish_per_s"],
                lat(ms["latency"]["p99_us"]), lost, ", ".join(mib(x) for x in each), ", ".join(perconn),
                mib(meta["redis_rss_after"]), meta["redis_cpu_s"]))
        else:
            # No step passed: RSS as of the last step.
            err = res.get("error") or (steps[0]["reason"] if steps else "")
            each = (steps[-1].get("server_rss_each") or []) if steps else []
            perconn = ["%.1f KiB" % ((a - b) / per / 1024.0) for a, b in zip(each, meta["node_rss_before"])]
            print("| %s | %d | %d of %d | none passed (%s) | | | %d | %s (last step) | %s | %s | %.1f |" % (
                peer, meta["nodes"], opened, meta["conns"], err, lost, ", ".join(mib(x) for x in each),
                ", ".join(perconn), mib(meta["redis_rss_after"]), meta["redis_cpu_s"]))
        rows = ["\n### %s steps\n" % peer,
                "| step | target/s | delivered/s | expected | delivered | lost | p50 | p99 | max | disconnects | server CPU % | tool CPU % | pass | reason |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for s in steps:
            L = s["latency"]
            rows.append("| %d %s | %.0f | %.0f | %d | %d | %d | %s | %s | %s | %d | %.0f | %.0f | %s | %s |" % (
                s["step"], s["phase"], s["target_per_s"], s["delivered_per_s"], s["expected"], s["delivered"], s["lost"],
                lat(L["p50_us"]), lat(L["p99_us"]), lat(L["max_us"]), s["disconnects"], s.get("server_cpu_pct", 0),
                s.get("tool_cpu_pct", 0), s["pass"], s.get("reason", "")))
        if res.get("note"):
            rows.append("\n" + res["note"])
        if res.get("error"):
            rows.append("\nsioperf error: " + res["error"])
        details += rows
    print("\n".join(details))


if __name__ == "__main__":
    main(sys.argv[1])
