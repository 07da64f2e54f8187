# normalize.jq: what `teamlog` does to valid Dropbox team-log events, written
# as a careful jq user would, for benchmarks/compare.sh. Runs under jq (1.6+)
# and jaq (2+).
#
#   jq  -n -R -c --arg parse_time "2024-01-01 00:00:00.000000000" -f normalize.jq < events.ndjson
#   jaq -n -R -c --arg parse_time "2024-01-01 00:00:00.000000000" -f normalize.jq < events.ndjson
#
# Same work as teamlog for every valid event: each line parsed on its own
# (a bad line is dropped, not fatal), required fields checked, declared fields
# projected in schema order with `.tag` renamed `_tag`, compact unions and
# inlined union members (reseller actors, group participants) read, nulls and
# empty arrays dropped, timestamps validated and normalized to UTC
# `YYYY-MM-DD HH:MM:SS.fffffffff` (Z, offsets, and Panther's own form),
# indicators collected from the schema's indicator fields (trimmed, IPs
# checked, sorted, unique), and p_log_type, p_row_id (Panther's layout),
# p_event_time, p_parse_time, p_schema_version added.
#
# What jq cannot do, and so does not (see BENCHMARKS.md): see duplicate keys
# (its parser keeps the last), keep `json` fields byte for byte (it
# re-serializes them; jq 1.6 rounds integers above 2^53), report rejects.

def tag_of: .[".tag"] // ._tag;

# A `string` field: strings as they are, numbers and booleans as their text.
def str:
  if . == null or type == "string" then .
  elif type == "number" or type == "boolean" then tojson
  else error("expected string, got \(type)") end;

def obj(f):
  if . == null then null
  elif type == "object" then f
  else error("expected object, got \(type)") end;

def boolean:
  if . == null or type == "boolean" then .
  elif . == 1 or . == "1" or . == "t" or . == "T" or . == "TRUE" or . == "true" or . == "True" then true
  elif . == 0 or . == "0" or . == "f" or . == "F" or . == "FALSE" or . == "false" or . == "False" then false
  else error("expected boolean") end;

# Drop null members and empty arrays, as teamlog does.
def clean: with_entries(select(.value != null and .value != []));

def tag_only: obj({_tag: (tag_of | str)} | clean);

# The user/context shape shared by actor.user, actor.admin, context and
# participants[].user.
def member:
  obj({
    _tag: (tag_of | str),
    account_id: (.account_id | str),
    display_name: (.display_name | str),
    email: (.email | str),
    team_member_id: (.team_member_id | str),
    member_external_id: (.member_external_id | str),
    team: (.team | obj({display_name: (.display_name | str)} | clean)),
    trusted_non_team_member_type: (.trusted_non_team_member_type | tag_only)
  } | clean);

# Stone inlines a struct member next to its tag: {".tag":"reseller",
# "reseller_name":..}. Read it as {"reseller": {"reseller_name": ..}}.
# $declared: the object's declared keys, as an object's keys.
def inlined($name; $declared):
  if tag_of == $name and (has($name) | not)
  then (with_entries(select(.key != ".tag" and .key != "_tag" and $declared[.key] == null))
        | if . == {} then null else . end)
  else .[$name] end;

def actor:
  obj({
    _tag: (tag_of | str),
    admin: (.admin | member),
    app: (.app | obj({app_id: (.app_id | str), display_name: (.display_name | str)} | clean)),
    reseller: (inlined("reseller"; {admin: 1, app: 1, reseller: 1, user: 1})
               | obj({reseller_name: (.reseller_name | str),
                      reseller_email: (.reseller_email | str)} | clean)),
    user: (.user | member)
  } | clean);

def participant:
  obj({
    group: (inlined("group"; {group: 1, user: 1})
            | obj({display_name: (.display_name | str), group_id: (.group_id | str),
                   external_id: (.external_id | str)} | clean)),
    user: (.user | member)
  } | clean);

def array(f):
  if . == null then null
  elif type == "array" then map(f)
  else error("expected array, got \(type)") end;

def origin:
  obj({
    access_method: .access_method,
    geo_location: (.geo_location | obj({
      ip_address: (.ip_address | str), city: (.city | str),
      region: (.region | str), country: (.country | str)} | clean))
  } | clean);

def pad2: tostring | if length < 2 then "0" + . else . end;
def pad4: tostring | ("000" + .)[-4:];

def days_in_month($y; $m):
  if $m == 2 then (if ($y % 4 == 0 and $y % 100 != 0) or $y % 400 == 0 then 29 else 28 end)
  elif $m == 4 or $m == 6 or $m == 9 or $m == 11 then 30
  else 31 end;

# Howard Hinnant's civil calendar algorithms, for UTC offsets.
def days_from_civil($y; $m; $d):
  (if $m <= 2 then $y - 1 else $y end) as $y
  | ((if $y >= 0 then $y else $y - 399 end) / 400 | floor) as $era
  | ($y - $era * 400) as $yoe
  | (((153 * (if $m > 2 then $m - 3 else $m + 9 end) + 2) / 5 | floor) + $d - 1) as $doy
  | ($yoe * 365 + ($yoe / 4 | floor) - ($yoe / 100 | floor) + $doy) as $doe
  | $era * 146097 + $doe - 719468;

def civil_from_days($z):
  ($z + 719468) as $z
  | ((if $z >= 0 then $z else $z - 146096 end) / 146097 | floor) as $era
  | ($z - $era * 146097) as $doe
  | (($doe - ($doe / 1460 | floor) + ($doe / 36524 | floor) - ($doe / 146096 | floor)) / 365 | floor) as $yoe
  | ($doe - (365 * $yoe + ($yoe / 4 | floor) - ($yoe / 100 | floor))) as $doy
  | ((5 * $doy + 2) / 153 | floor) as $mp
  | ($doy - ((153 * $mp + 2) / 5 | floor) + 1) as $d
  | (if $mp < 10 then $mp + 3 else $mp - 9 end) as $m
  | [$yoe + $era * 400 + (if $m <= 2 then 1 else 0 end), $m, $d];

# RFC 3339 (T, Z or +hh:mm, 1-9 fraction digits) or Panther's
# "YYYY-MM-DD HH:MM:SS[.f]" (UTC) -> "YYYY-MM-DD HH:MM:SS.fffffffff" in UTC.
def timestamp:
  if type != "string" then error("timestamp: expected string") else . end
  | (capture("^(?<y>[0-9]{4})-(?<mo>[0-9]{2})-(?<d>[0-9]{2})(?<sep>[T ])(?<h>[0-9]{2}):(?<mi>[0-9]{2}):(?<s>[0-9]{2})(?:[.](?<f>[0-9]{1,9}))?(?<z>Z|[+-][0-9]{2}:[0-9]{2})?$")
     // error("timestamp: expected RFC 3339"))
  | (.z // "") as $z
  | if (.sep == "T") != ($z != "") then error("timestamp: bad zone") else . end
  | (.y | tonumber) as $y | (.mo | tonumber) as $mo | (.d | tonumber) as $d
  | (.h | tonumber) as $h | (.mi | tonumber) as $mi | (.s | tonumber) as $s
  | if $mo < 1 or $mo > 12 or $d < 1 or $d > days_in_month($y; $mo)
       or $h > 23 or $mi > 59 or $s > 59
    then error("timestamp: out of range") else . end
  | ((.f // "") + "000000000")[:9] as $frac
  | if $z == "" or $z == "Z" or $z == "+00:00" or $z == "-00:00" then
      "\(.y)-\(.mo)-\(.d) \(.h):\(.mi):\(.s).\($frac)"
    else
      ($z[1:3] | tonumber) as $oh | ($z[4:6] | tonumber) as $om
      | if $oh > 23 or $om > 59 then error("timestamp: bad offset") else . end
      | (if $z[0:1] == "+" then 1 else -1 end) as $sign
      | (days_from_civil($y; $mo; $d) * 86400 + $h * 3600 + $mi * 60 + $s
         - $sign * ($oh * 3600 + $om * 60)) as $t
      | (($t / 86400) | floor) as $days
      | ($t - $days * 86400) as $sod
      | civil_from_days($days) as [$yy, $mm, $dd]
      | "\($yy | pad4)-\($mm | pad2)-\($dd | pad2) \(($sod / 3600 | floor) | pad2):\((($sod % 3600) / 60 | floor) | pad2):\(($sod % 60) | pad2).\($frac)"
    end;

def trimmed: sub("^[ \t\n\r]+"; "") | sub("[ \t\n\r]+$"; "");

def ipv4: test("^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$");
def ipv6: test("^[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(:((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))?$")
  and (split("::") | length) <= 2;

def sorted_unique: map(select(. != null) | trimmed) | unique;

def indicators:
  [.actor.admin, .actor.user, .context, (.participants // [] | .[].user)] as $people
  | ([.origin.geo_location.ip_address] | sorted_unique | map(select(ipv4 or ipv6))) as $ips
  | ([$people[].email, .actor.reseller.reseller_email] | sorted_unique | map(select(contains("@")))) as $emails
  | ([$people[].display_name, .actor.reseller.reseller_name] | sorted_unique | map(select(. != ""))) as $names
  | {p_any_ip_addresses: $ips, p_any_emails: $emails, p_any_usernames: $names} | clean;

def event:
  if type != "object" then error("not an object")
  elif has("error_summary") and has("error") then error("API error object")
  else . end
  | if .timestamp == null then error("missing required field timestamp") else . end
  | if .details == null then error("missing required field details") else . end
  | (if (.event_category | type) == "string" then {".tag": .event_category} else .event_category end) as $cat
  | if ($cat | type) != "object" or ($cat | tag_of | type) != "string"
    then error("event_category") else . end
  | if (.event_type | type) != "object" or (.event_type | tag_of | type) != "string"
    then error("event_type") else . end
  | {
      timestamp: (.timestamp | timestamp),
      event_category: {_tag: ($cat | tag_of)},
      event_type: (.event_type | {_tag: tag_of, description: (.description | str)} | clean),
      details: .details,
      actor: (.actor | actor),
      origin: (.origin | origin),
      involve_non_team_member: (.involve_non_team_member | boolean),
      context: (.context | member),
      participants: (.participants | array(participant)),
      assets: (.assets | array(.))
    }
  | clean;

# uvarint, as lowercase hex
def hex2: [(. / 16 | floor), (. % 16 | floor)] | map("0123456789abcdef"[.:. + 1]) | add;
def uvarint: if . < 128 then hex2
  else ((. % 128 | floor) + 128 | hex2) + ((. / 128 | floor) | uvarint) end;

# p_row_id: 6 node bytes, uvarint of the run's start in microseconds since
# 2020-01-01, uvarint of the event's ordinal from 1.
("02dbb0c0ffee" + (((now - 1577836800) * 1000000 | floor) | uvarint)) as $row_prefix
| foreach (inputs | try (fromjson | event | [., indicators]) catch empty) as $e
    (0; . + 1;
     $e[0] + {
       p_log_type: "Dropbox.TeamEvent",
       p_row_id: ($row_prefix + uvarint),
       p_event_time: $e[0].timestamp,
       p_parse_time: $parse_time,
       p_schema_version: 0
     } + $e[1])
