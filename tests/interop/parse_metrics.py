#!/usr/bin/env python3
"""Parse a Prometheus text exposition (format version 0.0.4, or OpenMetrics 1.0
when the text ends with "# EOF") from stdin with the official `prometheus_client`
parsers and print a JSON summary on stdout.

Used by agenda's tests as an independent, third-party check of what the
service's metrics endpoint serves.

Usage:  parse_metrics.py < metrics.txt        (no arguments)

Output (one JSON object, keys sorted, strict JSON):

    {
      "families": {
        FAMILY_NAME: {
          "type": "counter" | "gauge" | "histogram" | "summary" | "unknown",
          "help": HELP text ("" when there is no HELP line),
          "samples": [{"name": SAMPLE_NAME, "labels": {NAME: VALUE}, "value": float}]
        }
      }
    }

Samples keep their order of appearance.  Names and types are what
`prometheus_client.parser.text_string_to_metric_families` reports, which
follows the OpenMetrics conventions:
  * an untyped family (`# TYPE x untyped`, or samples without a TYPE line) has
    type "unknown";
  * a counter family loses a trailing `_total`: `# TYPE rpcs_total counter`
    gives family "rpcs" with samples named "rpcs_total"; a counter declared
    without `_total` (`# TYPE rpcs counter`) gives family "rpcs" and its
    samples are *renamed* "rpcs_total";
  * a histogram "h" has samples "h_bucket" (with label "le", e.g. "+Inf"),
    "h_sum" and "h_count"; a summary "s" has "s" (label "quantile"), "s_sum"
    and "s_count".
A value that is not finite is written as the string "NaN", "+Inf" or "-Inf"
(JSON has no such numbers); every other value is a JSON number.  Sample
timestamps are accepted but not reported.

OpenMetrics input goes to `prometheus_client.openmetrics.parser`, which is
strict (counter samples must end in `_total`, families must not interleave,
the text must end with "# EOF"); its summary has the same shape.

Strictness.  On any of the following a message goes to stderr, nothing to
stdout, and the exit status is 1:
  * stdin is not valid UTF-8, is empty, or does not end with "\\n";
  * the parser raises (bad metric or label name, bad escaping, bad value,
    TYPE line without a type, ...);
  * a TYPE that the 0.0.4 text format does not have (e.g. "info");
  * a family whose samples do not all start with the family name;
  * the same family name twice (the format wants each family's lines to form
    one group; a second group would be silently merged or lost in JSON).
Note that the prometheus_client parser is laxer than Prometheus' own: a
sample line that does not belong to the family of the preceding TYPE/HELP
line is accepted as a separate untyped ("unknown") family.
"""

from __future__ import annotations

import json
import math
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

# TYPE values of text format 0.0.4, as prometheus_client names them
# ("untyped" becomes "unknown").
TYPES_0_0_4 = ("counter", "gauge", "histogram", "summary", "unknown")


class MetricsError(Exception):
    pass


def json_value(value: float) -> float | str:
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value


def parse(text: str) -> dict:
    if text == "":
        raise MetricsError("empty input")
    if not text.endswith("\n"):
        raise MetricsError("input does not end with a newline")
    families: dict[str, dict] = {}
    try:
        openmetrics = text.endswith("# EOF\n")
        parse_families = openmetrics_families if openmetrics else text_string_to_metric_families
        parsed = list(parse_families(text))
    except Exception as e:  # the parser raises ValueError, sometimes others
        raise MetricsError(f"parse error: {type(e).__name__}: {e or '(no detail)'}") from e
    for family in parsed:
        name = family.name
        if family.type not in TYPES_0_0_4:
            raise MetricsError(f"family {name!r}: type {family.type!r} is not in text format 0.0.4")
        if name in families:
            raise MetricsError(f"family {name!r} appears more than once (its lines are not one group)")
        samples = []
        for s in family.samples:
            if not s.name.startswith(name):
                raise MetricsError(f"family {name!r}: sample {s.name!r} does not start with the family name")
            samples.append({"name": s.name, "labels": dict(s.labels), "value": json_value(s.value)})
        families[name] = {"type": family.type, "help": family.documentation, "samples": samples}
    return {"families": families}


def main() -> int:
    if len(sys.argv) != 1:
        print("usage: parse_metrics.py < metrics.txt", file=sys.stderr)
        return 2
    try:
        text = sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError as e:
        print(f"parse_metrics.py: input is not valid UTF-8: {e}", file=sys.stderr)
        return 1
    try:
        result = parse(text)
    except MetricsError as e:
        print(f"parse_metrics.py: {e}", file=sys.stderr)
        return 1
    out = json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n"
    sys.stdout.buffer.write(out.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
