#!/usr/bin/env python3
"""What `teamlog` does to Dropbox team-log events, in plain Python with orjson.

    python3 normalize_orjson.py [--parse-time "YYYY-MM-DD HH:MM:SS.fffffffff"] < in.ndjson > out.ndjson

The benchmark peer of benches/compare.sh, written as a careful Python user
would: stdin to stdout, streaming line by line, every line parsed on its own,
rejects counted by reason and summarized on stderr (exit 1 when any).

Same work as teamlog for every valid event: required fields checked, declared
fields projected in schema order with `.tag` renamed `_tag`, compact unions
and inlined union members (reseller actors, group participants) read, nulls
and empty arrays dropped, timestamps validated and normalized to UTC
`YYYY-MM-DD HH:MM:SS.fffffffff` (Z, offsets, Panther's own form), indicators
collected from the schema's indicator fields (trimmed, IPs parsed, sorted,
unique), and p_log_type, p_row_id (Panther's layout), p_event_time,
p_parse_time, p_schema_version added.

What it does not do (see BENCHMARKS.md): see duplicate keys (orjson keeps the
last), keep `json` fields byte for byte (they are re-serialized; orjson
rejects integers beyond 64 bits), read API response envelopes or compressed
input, or use more than one core.
"""

import datetime
import ipaddress
import os
import re
import sys
import time

import orjson

TS = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})([T ])([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
BOOLS = {
    True: True, False: False, 1: True, 0: False,
    "1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
    "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False,
}
EPOCH_2020_US = 1577836800 * 1_000_000


class Reject(Exception):
    pass


def tag_of(o):
    t = o.get(".tag")
    return o.get("_tag") if t is None else t


def string(v, at):
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return orjson.dumps(v).decode()
    raise Reject(f"{at}: expected string, got {type(v).__name__}")


def obj(v, at):
    if v is None or isinstance(v, dict):
        return v
    raise Reject(f"{at}: expected object, got {type(v).__name__}")


def clean(d):
    return {k: v for k, v in d.items() if v is not None and v != []}


def timestamp(v):
    if not isinstance(v, str):
        raise Reject("timestamp: expected string")
    m = TS.fullmatch(v)
    if not m:
        raise Reject(f"timestamp: expected RFC 3339 like 2017-01-25T15:51:30Z, got {v!r}")
    y, mo, d, sep, h, mi, s, frac, zone = m.groups()
    if (sep == "T") != (zone is not None):
        raise Reject(f"timestamp: bad zone in {v!r}")
    try:
        t = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
    except ValueError:
        raise Reject(f"timestamp: out of range: {v!r}") from None
    if zone and zone != "Z":
        oh, om = int(zone[1:3]), int(zone[4:6])
        if oh > 23 or om > 59:
            raise Reject(f"timestamp: bad offset in {v!r}")
        delta = datetime.timedelta(hours=oh, minutes=om)
        t = t - delta if zone[0] == "+" else t + delta
    return f"{t:%Y-%m-%d %H:%M:%S}.{(frac or '').ljust(9, '0')}"


def member(v, at):
    if obj(v, at) is None:
        return None
    team = obj(v.get("team"), at + ".team")
    trusted = obj(v.get("trusted_non_team_member_type"), at + ".trusted_non_team_member_type")
    return clean({
        "_tag": string(tag_of(v), at + "._tag"),
        "account_id": string(v.get("account_id"), at + ".account_id"),
        "display_name": string(v.get("display_name"), at + ".display_name"),
        "email": string(v.get("email"), at + ".email"),
        "team_member_id": string(v.get("team_member_id"), at + ".team_member_id"),
        "member_external_id": string(v.get("member_external_id"), at + ".member_external_id"),
        "team": None if team is None else clean({"display_name": string(team.get("display_name"), at)}),
        "trusted_non_team_member_type":
            None if trusted is None else clean({"_tag": string(tag_of(trusted), at)}),
    })


def inlined(o, name, declared):
    """Stone inlines a struct member next to its tag ({".tag":"reseller",
    "reseller_name":..}): read it as {"reseller": {"reseller_name": ..}}."""
    if tag_of(o) == name and name not in o:
        rest = {k: v for k, v in o.items() if k not in declared and k not in (".tag", "_tag")}
        return rest or None
    return o.get(name)


ACTOR_KEYS = {"admin", "app", "reseller", "user"}
PARTICIPANT_KEYS = {"group", "user"}


def actor(v):
    if obj(v, "actor") is None:
        return None
    app = obj(v.get("app"), "actor.app")
    reseller = obj(inlined(v, "reseller", ACTOR_KEYS), "actor.reseller")
    return clean({
        "_tag": string(tag_of(v), "actor._tag"),
        "admin": member(v.get("admin"), "actor.admin"),
        "app": None if app is None else clean({
            "app_id": string(app.get("app_id"), "actor.app.app_id"),
            "display_name": string(app.get("display_name"), "actor.app.display_name"),
        }),
        "reseller": None if reseller is None else clean({
            "reseller_name": string(reseller.get("reseller_name"), "actor.reseller.reseller_name"),
            "reseller_email": string(reseller.get("reseller_email"), "actor.reseller.reseller_email"),
        }),
        "user": member(v.get("user"), "actor.user"),
    })


def participant(v):
    if obj(v, "participants[]") is None:
        return None
    group = obj(inlined(v, "group", PARTICIPANT_KEYS), "participants[].group")
    return clean({
        "group": None if group is None else clean({
            "display_name": string(group.get("display_name"), "participants[].group.display_name"),
            "group_id": string(group.get("group_id"), "participants[].group.group_id"),
            "external_id": string(group.get("external_id"), "participants[].group.external_id"),
        }),
        "user": member(v.get("user"), "participants[].user"),
    })


def origin(v):
    if obj(v, "origin") is None:
        return None
    geo = obj(v.get("geo_location"), "origin.geo_location")
    return clean({
        "access_method": v.get("access_method"),
        "geo_location": None if geo is None else clean({
            k: string(geo.get(k), "origin.geo_location." + k)
            for k in ("ip_address", "city", "region", "country")
        }),
    })


def array(v, f, at):
    if v is None:
        return None
    if not isinstance(v, list):
        raise Reject(f"{at}: expected array, got {type(v).__name__}")
    return [f(x) for x in v]


def boolean(v):
    if v is None:
        return None
    try:
        return BOOLS[v]
    except (KeyError, TypeError):
        raise Reject("involve_non_team_member: expected boolean") from None


def is_ip(s):
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


def indicators(e):
    people = []
    a = e.get("actor") or {}
    people += [a.get("admin"), a.get("user"), e.get("context")]
    people += [p.get("user") for p in e.get("participants", ())]
    people = [p for p in people if p]
    reseller = a.get("reseller") or {}
    ips, emails, names = set(), set(), set()
    ip = (e.get("origin") or {}).get("geo_location", {}).get("ip_address")
    if ip is not None and is_ip(ip.strip()):
        ips.add(ip.strip())
    for s in [p.get("email") for p in people] + [reseller.get("reseller_email")]:
        if s is not None and "@" in s:
            emails.add(s.strip())
    for s in [p.get("display_name") for p in people] + [reseller.get("reseller_name")]:
        if s is not None and s.strip():
            names.add(s.strip())
    out = {}
    if ips:
        out["p_any_ip_addresses"] = sorted(ips)
    if emails:
        out["p_any_emails"] = sorted(emails)
    if names:
        out["p_any_usernames"] = sorted(names)
    return out


def event(raw):
    v = orjson.loads(raw)
    if not isinstance(v, dict):
        raise Reject("not a JSON object")
    if "error_summary" in v and "error" in v:
        raise Reject("API error object, not an event")
    for k in ("timestamp", "event_category", "event_type", "details"):
        if v.get(k) is None:
            raise Reject(f"missing required field {k}")
    cat = v["event_category"]
    if isinstance(cat, str):
        cat = {".tag": cat}
    if not isinstance(cat, dict) or not isinstance(tag_of(cat), str):
        raise Reject("event_category: expected object with string .tag")
    et = v["event_type"]
    if not isinstance(et, dict) or not isinstance(tag_of(et), str):
        raise Reject("event_type: expected object with string .tag")
    return clean({
        "timestamp": timestamp(v["timestamp"]),
        "event_category": {"_tag": tag_of(cat)},
        "event_type": clean({"_tag": tag_of(et),
                             "description": string(et.get("description"), "event_type.description")}),
        "details": v["details"],
        "actor": actor(v.get("actor")),
        "origin": origin(v.get("origin")),
        "involve_non_team_member": boolean(v.get("involve_non_team_member")),
        "context": member(v.get("context"), "context"),
        "participants": array(v.get("participants"), participant, "participants"),
        "assets": array(v.get("assets"), lambda x: x, "assets"),
    })


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def main():
    args = sys.argv[1:]
    if args[:1] == ["--parse-time"] and len(args) == 2:
        parse_time = args[1]
    elif not args:
        now = time.time_ns()
        parse_time = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now // 10**9)) + f".{now % 10**9:09d}"
    else:
        sys.exit("usage: normalize_orjson.py [--parse-time 'YYYY-MM-DD HH:MM:SS.fffffffff'] < in > out")
    # p_row_id: 6 node bytes, uvarint(run start in µs since 2020), uvarint(ordinal)
    row_prefix = os.urandom(6) + uvarint(time.time_ns() // 1000 - EPOCH_2020_US)
    started = time.perf_counter()
    out = sys.stdout.buffer
    lines = written = blank = nbytes = 0
    rejects = {}
    ordinal = 0
    for line in sys.stdin.buffer:
        lines += 1
        nbytes += len(line)
        if not line.strip(b" \t\r\n"):
            blank += 1
            continue
        try:
            e = event(line)
        except Reject as r:
            reason = str(r)
            rejects[reason] = rejects.get(reason, 0) + 1
            continue
        except orjson.JSONDecodeError as err:
            reason = "invalid UTF-8" if "utf-8" in str(err).lower() else "invalid JSON"
            rejects[reason] = rejects.get(reason, 0) + 1
            continue
        ordinal += 1
        e["p_log_type"] = "Dropbox.TeamEvent"
        e["p_row_id"] = (row_prefix + uvarint(ordinal)).hex()
        e["p_event_time"] = e["timestamp"]
        e["p_parse_time"] = parse_time
        e["p_schema_version"] = 0
        e.update(indicators(e))
        out.write(orjson.dumps(e))
        out.write(b"\n")
        written += 1
    out.flush()
    secs = time.perf_counter() - started
    rejected = sum(rejects.values())
    print(
        f"normalize_orjson: {lines} lines, {written} events, {rejected} rejected, {blank} blank, "
        f"{nbytes} bytes in {secs:.2f}s ({nbytes / 1e6 / max(secs, 1e-9):.1f} MB/s)",
        file=sys.stderr,
    )
    sys.exit(1 if rejected else 0)


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
