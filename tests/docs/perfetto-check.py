#!/usr/bin/env python3
"""Check a `kmap replay --perfetto` file against the Chrome trace-event
format's rules, and (with --json) against the run's own --json records.

    perfetto-check.py TRACE.json [--json RUN.jsonl] [--first-time SECONDS]
    perfetto-check.py --batch LIST   each line of LIST: TRACE.json RUN.jsonl
                                     [SECONDS] (RUN.jsonl "-": none), the
                                     same checks

The format (the JSON object format): an object whose "traceEvents" is a
list of events; each has name, ph, ts, pid and tid; X has dur, i has s
(g, p or t), C has numeric args, b/e have cat and id, M names a process or
thread (name) or orders it (sort_index). Numbers are non-negative. On each
track (pid, tid) the events come in time order, B/E pairs nest and close
(E names its B), slices are nested or apart; a b/e pair per (cat, id)
closes, its e not before its b. Every pid used has a process_name, every
(pid, tid) a thread_name.

With --json (the --json lines of the same run), what is drawn is what ran:
a slot track per slot that took a page, a slot span per new mapping (its
slot and pfn), a flush instant per flush, an "asleep" span per sleep, an
op span per record (a woken kmap's record ends the span of its call), a
mismatch instant per mismatch, a task track per task, counters within the
window; and each record at its step: 1 us a step without times, else the
record's time, at least 1 ns after the step before (1 us for a line
without a time). --first-time: the first event is at that time.

Prints what is wrong; exit 0 when nothing is, 1 otherwise.
"""
import json
import sys
from decimal import Decimal

PHASES = set("BEXiICMben")
errors = []


def err(msg):
    if len(errors) < 30:
        errors.append(msg)
    elif len(errors) == 30:
        errors.append("(more errors left out)")


def ns_of_us(ts):
    """A ts (microseconds, a JSON number) in integer nanoseconds."""
    return int((Decimal(ts) * 1000).to_integral_value())


def check_format(doc):
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        err("not an object with a traceEvents list")
        return []
    unit = doc.get("displayTimeUnit")
    if unit is not None and unit not in ("ms", "ns"):
        err("displayTimeUnit %r is neither ms nor ns" % unit)
    evs = doc["traceEvents"]
    last_ts = {}
    stacks = {}                 # (pid, tid) -> open B events
    intervals = {}              # (pid, tid) -> [(start, end, index)]
    asyncs = {}                 # (pid, cat, id) -> open b events
    pids, tids = set(), set()
    pnames, tnames = set(), set()
    for i, e in enumerate(evs):
        where = "event %d" % i
        if not isinstance(e, dict):
            err("%s: not an object" % where)
            continue
        for k in ("name", "ph", "ts", "pid", "tid"):
            if k not in e:
                err("%s: no %s" % (where, k))
        ph = e.get("ph")
        if ph not in PHASES:
            err("%s: unknown phase %r" % (where, ph))
            continue
        if not isinstance(e.get("name"), str):
            err("%s: name is not a string" % where)
        ts = e.get("ts", 0)
        if isinstance(ts, bool) or not isinstance(ts, (int, Decimal)) or ts < 0:
            err("%s: ts %r is not a non-negative number" % (where, ts))
            continue
        pid, tid = e.get("pid"), e.get("tid")
        if not isinstance(pid, int) or not isinstance(tid, int) or pid < 0 or tid < 0:
            err("%s: pid/tid %r/%r are not non-negative integers" % (where, pid, tid))
            continue
        args = e.get("args", {})
        if not isinstance(args, dict):
            err("%s: args is not an object" % where)
            args = {}
        if ph == "M":
            if e["name"] in ("process_name", "thread_name"):
                if not isinstance(args.get("name"), str) or not args["name"]:
                    err("%s: %s without a name" % (where, e["name"]))
                (pnames.add(pid) if e["name"] == "process_name"
                 else tnames.add((pid, tid)))
            elif e["name"] in ("process_sort_index", "thread_sort_index"):
                if not isinstance(args.get("sort_index"), int):
                    err("%s: %s without an integer sort_index" % (where, e["name"]))
            continue
        pids.add(pid)
        tids.add((pid, tid))
        track = (pid, tid)
        if ph != "X":
            if ts < last_ts.get(track, 0):
                err("%s (%s at %s): before the track's event at %s" %
                    (where, e["name"], ts, last_ts[track]))
            last_ts[track] = ts
        if ph == "X":
            dur = e.get("dur")
            if isinstance(dur, bool) or not isinstance(dur, (int, Decimal)) or dur < 0:
                err("%s: X without a non-negative dur" % where)
            else:
                intervals.setdefault(track, []).append((ts, ts + dur, i))
        elif ph in "iI":
            if e.get("s", "t") not in ("g", "p", "t"):
                err("%s: instant scope %r" % (where, e.get("s")))
        elif ph == "C":
            if not args:
                err("%s: counter without args" % where)
            for k, v in args.items():
                if isinstance(v, bool) or not isinstance(v, (int, Decimal)) or v < 0:
                    err("%s: counter %s=%r is not a non-negative number" % (where, k, v))
        elif ph == "B":
            stacks.setdefault(track, []).append((e, i))
        elif ph == "E":
            st = stacks.get(track)
            if not st:
                err("%s: E %r with no open B on its track" % (where, e["name"]))
                continue
            b, bi = st.pop()
            if b["name"] != e["name"] or b.get("cat") != e.get("cat"):
                err("%s: E %r closes B %r (event %d)" % (where, e["name"], b["name"], bi))
            intervals.setdefault(track, []).append((b["ts"], ts, bi))
        elif ph in "be":
            if "id" not in e or "cat" not in e:
                err("%s: async %s without cat and id" % (where, ph))
                continue
            key = (pid, e["cat"], str(e["id"]))
            if ph == "b":
                asyncs.setdefault(key, []).append((e, i))
            else:
                st = asyncs.get(key)
                if not st:
                    err("%s: e with no open b (id %s)" % (where, e["id"]))
                    continue
                b, bi = st.pop()
                if b["name"] != e["name"]:
                    err("%s: e %r closes b %r" % (where, e["name"], b["name"]))
                if ts < b["ts"]:
                    err("%s: e before its b" % where)
    for track, st in stacks.items():
        for b, bi in st:
            err("event %d: B %r on %s never ends" % (bi, b["name"], track))
    for key, st in asyncs.items():
        for b, bi in st:
            err("event %d: b %r (id %s) never ends" % (bi, b["name"], key[2]))
    # slices of a track: nested or apart
    for track, iv in intervals.items():
        iv.sort(key=lambda x: (x[0], -x[1], x[2]))
        open_ends = []
        for start, end, idx in iv:
            while open_ends and open_ends[-1][0] <= start:
                open_ends.pop()
            if open_ends and end > open_ends[-1][0]:
                err("event %d on %s: overlaps event %d without nesting" %
                    (idx, track, open_ends[-1][1]))
            open_ends.append((end, idx))
    for pid in sorted(pids - pnames):
        err("pid %d has no process_name" % pid)
    for pt in sorted(tids - tnames):
        err("pid %d tid %d has no thread_name" % pt)
    return evs


def check_run(evs, lines, first_time):
    recs, flushes, summary, machine, mism = [], 0, None, None, 0
    for l in lines:
        if "machine" in l:
            machine = l["machine"]
        elif "summary" in l:
            summary = l["summary"]
        elif l.get("event") == "flush":
            flushes += 1
        elif l.get("event") == "mismatch":
            mism += 1
        elif "op" in l:
            recs.append(l)
    if summary is None or machine is None:
        err("--json: no machine or summary line")
        return
    ev = [e for e in evs if isinstance(e, dict) and e.get("ph") != "M"]
    meta = [e for e in evs if isinstance(e, dict) and e.get("ph") == "M"]

    def count(**kw):
        return sum(1 for e in ev if all(e.get(k) == v for k, v in kw.items()))

    def expect(what, got, want):
        if got != want:
            err("%s: %r, the run's %r" % (what, got, want))

    expect("flush instants", count(ph="i", name="flush"), summary["flushes"])
    expect("flush instants (flush records)", count(ph="i", name="flush"), flushes)
    expect("asleep spans", count(ph="B", name="asleep"), summary["sleeps"])
    expect("mismatch instants", count(ph="i", name="mismatch"), mism)
    if "checked" in summary:
        expect("mismatch instants (summary)", count(ph="i", name="mismatch"),
               summary["checked"]["mismatches"])
    expect("slot spans (new mappings)", count(ph="B", cat="slot"), summary["new"])
    fresh = [r for r in recs if not r.get("resumed")]
    expect("op spans (records not resumed)", count(ph="B", cat="op"), len(fresh))

    # a slot track per slot that took a page; each span a new mapping's
    news = sorted((r["slot"], r["pfn"]) for r in recs
                  if r.get("how") == "new" and r["result"] == "ok")
    spans = sorted((e["args"]["slot"], e["args"]["pfn"]) for e in ev
                   if e["ph"] == "B" and e.get("cat") == "slot")
    expect("slot spans' (slot, pfn)", spans, news)
    slot_names = sorted(m["args"]["name"] for m in meta
                        if m["name"] == "thread_name" and m["pid"] == 1 and
                        m["args"]["name"].startswith("slot "))
    expect("slot tracks", slot_names,
           sorted("slot %d" % s for s in {s for s, _ in news}))
    task_names = sorted(m["args"]["name"] for m in meta
                        if m["name"] == "thread_name" and m["pid"] == 2)
    expect("task tracks", task_names, sorted({r["task"] for r in recs}))
    for e in ev:
        if e["ph"] == "C":
            a = e["args"]
            if not a["in use"] <= a["mapped"] <= machine["last_pkmap"]:
                err("counter at %s: in use %s, mapped %s, of %s slots" %
                    (e["ts"], a["in use"], a["mapped"], machine["last_pkmap"]))

    # time: each record at its step
    steps, prev = [], None
    for r in recs:
        if "time" in r:
            t = int((Decimal(str(r["time"])) * 10**9).to_integral_value())
            s = t if prev is None else max(t, prev + 1)
        else:
            s = 0 if prev is None else prev + 1000
        steps.append(s)
        prev = s
    # the op span a record opens, or the asleep span a woken record ends
    opened = [ns_of_us(e["ts"]) for e in ev if e["ph"] == "B" and e.get("cat") == "op"]
    want = [s for r, s in zip(recs, steps) if not r.get("resumed")]
    if opened != want:
        bad = next((i for i, (a, b) in enumerate(zip(opened, want)) if a != b),
                   min(len(opened), len(want)))
        err("op span %d at %s ns, its record's step is %s ns" %
            (bad, opened[bad] if bad < len(opened) else None,
             want[bad] if bad < len(want) else None))
    # a woken record ends its task's asleep span at its step; a task left
    # asleep has one more, at the end
    for task in {r["task"] for r in recs}:
        ends = [ns_of_us(e["ts"]) for e in ev if e["ph"] == "E" and
                e["name"] == "asleep" and e["pid"] == 2 and
                e["tid"] == tid_of(meta, task)]
        woken = [s for r, s in zip(recs, steps)
                 if r["task"] == task and r.get("resumed")]
        left = [steps[-1] + 1000] if task in summary["deadlocked"] else []
        if ends != woken + left:
            err("task %s: asleep spans end at %s ns, its wake-ups are at %s ns"
                "%s" % (task, ends, woken, " and the end" if left else ""))
    if first_time is not None:
        t0 = int((Decimal(first_time) * 10**9).to_integral_value())
        first = min(ns_of_us(e["ts"]) for e in ev) if ev else None
        expect("first event (ns)", first, t0)


def tid_of(meta, task):
    for m in meta:
        if (m["name"] == "thread_name" and m["pid"] == 2 and
                m["args"]["name"] == task):
            return m["tid"]
    return None


def check_file(path, jpath, first_time):
    del errors[:]
    try:
        with open(path) as f:
            doc = json.load(f, parse_float=Decimal)
    except (OSError, ValueError) as e:
        err("not valid JSON: %s" % e)
        doc = None
    if doc is not None:
        evs = check_format(doc)
        if jpath and not errors:
            with open(jpath) as f:
                lines = [json.loads(l, parse_float=Decimal) for l in f
                         if l.startswith("{")]
            check_run(evs, lines, first_time)
    for m in errors:
        print("%s: %s" % (path, m))
    return 1 if errors else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--batch":
        rc = 0
        with open(argv[2]) as f:
            for line in f:
                w = line.split()
                if w:
                    rc |= check_file(w[0], w[1] if len(w) > 1 and w[1] != "-"
                                     else None, w[2] if len(w) > 2 else None)
        return rc
    path, jpath, first_time = argv[1], None, None
    i = 2
    while i < len(argv):
        if argv[i] == "--json":
            jpath = argv[i + 1]
        elif argv[i] == "--first-time":
            first_time = argv[i + 1]
        i += 2
    return check_file(path, jpath, first_time)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
