"""The JSON Schemas of the configuration language (schemas/*.schema.json) against the real loader.

Every profile and endpoint spec under bff/ must match the schemas, and so must every complete
example of docs/spec-reference.md; deliberately broken specs must be rejected both by the
schemas and by `bffd check` (with the loader's own message), so the schemas an editor uses
say no more and no less than the server on those cases.

Needs the Debian packages python3-yaml and python3-jsonschema (draft 2020-12 support).
"""
import glob
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Runner, check, eq, set_time_limit, tmpdir, write  # noqa: E402

try:
    import jsonschema
    import jsonschema.exceptions
    import yaml
except ImportError as e:  # a clear failure, never a silent skip
    print("not ok - imports: %s (install the Debian packages python3-yaml and python3-jsonschema)" % e)
    print("0 passed, 1 failed")
    sys.exit(1)

SCHEMA_DIR = os.path.join(harness.SOURCE_DIR, "schemas")
BFF_DIR = os.path.join(harness.SOURCE_DIR, "bff")
DOC = os.path.join(harness.SOURCE_DIR, "docs", "spec-reference.md")

# Upstream names every test profile defines (those of the bff/ examples).
UPSTREAMS = ("users", "orders", "catalog", "notifications", "shipping")


def load_schema(name):
    with open(os.path.join(SCHEMA_DIR, name + ".schema.json")) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


try:
    PROFILE = load_schema("profile")
    ENDPOINT = load_schema("endpoint")
    GRAPH = load_schema("graph")
    SPECTEST = load_schema("spectest")
except Exception as e:  # unreadable or invalid schema: report it in the runner's format
    print("not ok - loading the schemas: %r" % e)
    print("0 passed, 1 failed")
    sys.exit(1)


def schema_errors(validator, text_or_doc):
    doc = yaml.safe_load(text_or_doc) if isinstance(text_or_doc, str) else text_or_doc
    return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(root)", e.message)
            for e in validator.iter_errors(doc)]


def load_yaml_file(path):
    with open(path) as f:
        return yaml.safe_load(f)


def profile_text(name="schema-test"):
    lines = ["name: %s" % name, "listen: 127.0.0.1:0", "access_log: off", "upstreams:"]
    for u in UPSTREAMS:
        lines += ["  %s:" % u, "    url: http://127.0.0.1:9"]
    return "\n".join(lines) + "\n"


def make_profile(profile=None, endpoints=None):
    """A profile folder: profile.yaml plus endpoints/NAME.yaml for each given text."""
    d = os.path.join(tmpdir(), "p")
    os.makedirs(os.path.join(d, "endpoints"))
    write(os.path.join(d, "profile.yaml"), profile if profile is not None else profile_text())
    for fname, text in (endpoints or {}).items():
        write(os.path.join(d, "endpoints", fname), text)
    return d


def bffd_check(*dirs, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run([harness.BFFD, "check"] + list(dirs), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=full_env, timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


GOOD_ENDPOINT = """\
endpoint: GET /users/{userId}/card
params:
  userId: { type: string, max_length: 64 }
query:
  limit: { type: int, default: 5, min: 1, max: 10 }
timeout: 1500ms
sources:
  user:
    upstream: users
    path: /users/{userId}
  orders:
    upstream: orders
    path: /orders?userId={user.id}&limit={limit}
    optional: true
    fallback: { orders: [] }
    retries: 1
response:
  id: user.id
  name: "{user.firstName} {user.lastName}"
  orders:
    $from: orders.orders
    $filter: "status != cancelled"
    $limit: 3
    $select: [id, total]
"""

# (name, kind, where the schema's most relevant error points, YAML text, fragment of bffd's
# message). Endpoint texts are served by the test profile above; profile texts stand alone.
BROKEN = [
    ("endpoint: unknown source key", "endpoint", "sources/orders", GOOD_ENDPOINT.replace("    retries: 1\n", "    retry: 1\n"),
     "unknown key 'retry' in a source"),
    ("endpoint: unknown top-level key", "endpoint", "", GOOD_ENDPOINT.replace("sources:", "sorces:"),
     "unknown key 'sorces' in an endpoint spec (did you mean 'sources'?)"),
    ("endpoint: unknown $-key", "endpoint", "response/orders", GOOD_ENDPOINT.replace("$from: orders.orders", "$form: orders.orders"),
     "unknown key '$form' in a $-value"),
    ("endpoint: bad duration", "endpoint", "timeout", GOOD_ENDPOINT.replace("timeout: 1500ms", "timeout: 1.5s"),
     "'timeout' must be a duration like 250ms, 2s or 1m, not '1.5s'"),
    ("endpoint: bad source duration", "endpoint", "sources/orders/timeout", GOOD_ENDPOINT.replace("    retries: 1\n", "    timeout: 2sec\n"),
     "not '2sec'"),
    ("endpoint: bad method", "endpoint", "endpoint", GOOD_ENDPOINT.replace("endpoint: GET ", "endpoint: FETCH "),
     "unsupported method 'FETCH'"),
    ("endpoint: lower-case method", "endpoint", "endpoint", GOOD_ENDPOINT.replace("endpoint: GET ", "endpoint: get "),
     "unsupported method 'get'"),
    ("endpoint: reserved path parameter", "endpoint", "endpoint",
     GOOD_ENDPOINT.replace("{userId}/card", "{item}/card").replace("  userId: { type", "  item: { type"),
     "bad path parameter name 'item'"),
    ("endpoint: path parameter reserved for the request body", "endpoint", "endpoint",
     GOOD_ENDPOINT.replace("{userId}/card", "{body}/card").replace("  userId: { type", "  body: { type"),
     "bad path parameter name 'body'"),
    ("endpoint: retries out of range", "endpoint", "sources/orders/retries", GOOD_ENDPOINT.replace("retries: 1", "retries: 9"),
     "'retries' must be between 0 and 5"),
    ("endpoint: fallback without optional", "endpoint", "sources/orders", GOOD_ENDPOINT.replace("    optional: true\n", ""),
     "'fallback' only makes sense with 'optional: true'"),
    ("endpoint: for_each and batch", "endpoint", "sources/orders",
     GOOD_ENDPOINT.replace("    retries: 1\n", "    for_each: { items: user.ids }\n    batch: { items: user.ids }\n"),
     "a source is either for_each or batch, not both"),
    ("endpoint: YAML list as a shape", "endpoint", "response/id", GOOD_ENDPOINT.replace("  id: user.id", "  id: [user.id]"),
     "a list here is ambiguous"),
    ("endpoint: mixed $-keys and fields", "endpoint", "response/orders", GOOD_ENDPOINT.replace("    $limit: 3", "    limit: 3"),
     "a mapping either has $-keys (one value) or field names (an object), not both"),
    ("endpoint: bad $filter operator", "endpoint", "response/orders/$filter", GOOD_ENDPOINT.replace("status != cancelled", "status ~= cancelled"),
     "$filter must read"),
    ("endpoint: bad $format", "endpoint", "response/id/$format",
     GOOD_ENDPOINT.replace("  id: user.id", "  id: { $from: user.id, $format: title }"),
     "$format must be one of date, string, number, upper, lower"),
    ("endpoint: keyed merge without $key", "endpoint", "response/id",
     GOOD_ENDPOINT.replace("  id: user.id", "  id: { $merge: [user.a, user.b], $policy: keyed }"),
     "$key (the field that identifies array elements) goes with $policy: keyed"),
    ("endpoint: bad query type", "endpoint", "query/limit/type", GOOD_ENDPOINT.replace("type: int", "type: integr"),
     "unknown type 'integr'"),
    ("profile: unknown key", "profile", "", profile_text().replace("access_log: off", "listen_port: 8080"),
     "unknown key 'listen_port' in profile.yaml"),
    ("profile: missing port", "profile", "listen", profile_text().replace("listen: 127.0.0.1:0", "listen: localhost"),
     "listen must be HOST:PORT"),
    ("profile: bad duration", "profile", "upstreams/users/timeout",
     profile_text().replace("    url: http://127.0.0.1:9\n", "    url: http://127.0.0.1:9\n    timeout: 2sec\n", 1),
     "'timeout' must be a duration like 250ms, 2s or 1m, not '2sec'"),
    ("profile: bad size", "profile", "upstreams/users/max_body",
     profile_text().replace("    url: http://127.0.0.1:9\n", "    url: http://127.0.0.1:9\n    max_body: 1G\n", 1),
     "'max_body' must be a size like 64KiB or 1MiB, not '1G'"),
    ("profile: url and instances", "profile", "upstreams/users",
     profile_text().replace("    url: http://127.0.0.1:9\n",
                            "    url: http://127.0.0.1:9\n    instances: [http://127.0.0.1:10]\n", 1),
     "needs exactly one of 'url' or 'instances'"),
    ("profile: bad load_balancing", "profile", "upstreams/users/load_balancing",
     profile_text().replace("    url: http://127.0.0.1:9\n", "    url: http://127.0.0.1:9\n    load_balancing: random\n", 1),
     "load_balancing must be round_robin or least_outstanding"),
    ("profile: breaker ratio out of range", "profile", "upstreams/users/circuit_breaker/error_ratio",
     profile_text().replace("    url: http://127.0.0.1:9\n",
                            "    url: http://127.0.0.1:9\n    circuit_breaker: { error_ratio: 150 }\n", 1),
     "'error_ratio' must be between 0 and 100"),
    ("profile: bad URL scheme", "profile", "upstreams/users/url", profile_text().replace("http://127.0.0.1:9", "ftp://127.0.0.1:9", 1),
     "upstream URL must start with http:// or https://"),
    ("profile: unknown propagate part", "profile", "upstreams/users/propagate/1",
     profile_text().replace("    url: http://127.0.0.1:9\n",
                            "    url: http://127.0.0.1:9\n    propagate: [request_id, b3]\n", 1),
     "propagate lists request_id and trace_context only, not b3"),
    ("profile: propagate part twice", "profile", "upstreams/users/propagate",
     profile_text().replace("    url: http://127.0.0.1:9\n",
                            "    url: http://127.0.0.1:9\n    propagate: [trace_context, trace_context]\n", 1),
     "trace_context is listed twice in propagate"),
    ("profile: propagate not a list", "profile", "upstreams/users/propagate",
     profile_text().replace("    url: http://127.0.0.1:9\n",
                            "    url: http://127.0.0.1:9\n    propagate: none\n", 1),
     "propagate must be a list of request_id and trace_context ([] for none)"),
]


def test_schemas_are_valid_schemas():
    for name in ("profile", "endpoint", "graph", "spectest"):
        with open(os.path.join(SCHEMA_DIR, name + ".schema.json")) as f:
            schema = json.load(f)
        check("2020-12" in schema.get("$schema", ""), "%s: expected a draft 2020-12 schema" % name)
        jsonschema.validators.validator_for(schema).check_schema(schema)


def example_dirs():
    return sorted(os.path.dirname(p) for p in glob.glob(os.path.join(BFF_DIR, "*", "profile.yaml")))


def test_example_profiles_match_schema():
    dirs = example_dirs()
    check(len(dirs) >= 3, "expected the web, mobile and partner profiles, found %r" % dirs)
    for d in dirs:
        errs = schema_errors(PROFILE, load_yaml_file(os.path.join(d, "profile.yaml")))
        eq(errs, [], "%s/profile.yaml" % d)


def test_example_endpoints_match_schema():
    files = sorted(glob.glob(os.path.join(BFF_DIR, "*", "endpoints", "*.yaml")) +
                   glob.glob(os.path.join(BFF_DIR, "*", "endpoints", "*.yml")))
    check(len(files) >= 6, "expected the example endpoint specs, found %r" % files)
    for f in files:
        eq(schema_errors(ENDPOINT, load_yaml_file(f)), [], f)


def test_example_graphs_match_schema():
    files = sorted(glob.glob(os.path.join(BFF_DIR, "*", "graph.yaml")))
    check(len(files) >= 2, "expected the web and partner graph.yaml, found %r" % files)
    for f in files:
        eq(schema_errors(GRAPH, load_yaml_file(f)), [], f)
    # A graph with an unknown key is refused by both.
    bad = load_yaml_file(files[0])
    bad["introspektion"] = True
    check(schema_errors(GRAPH, bad) != [], "the schema refuses an unknown key")


def test_example_spec_tests_match_schema():
    files = sorted(glob.glob(os.path.join(BFF_DIR, "*", "tests", "*.yaml")))
    dirs = sorted(set(os.path.dirname(os.path.dirname(f)) for f in files))
    eq(dirs, example_dirs(), "every example profile ships spec test cases")
    for f in files:
        eq(schema_errors(SPECTEST, load_yaml_file(f)), [], f)
    # A recording with a misspelt key, and a failure with a status, are refused.
    bad = load_yaml_file(files[0])
    bad["cases"][0]["upstreams"][0]["stauts"] = 200
    check(schema_errors(SPECTEST, bad) != [], "the schema refuses an unknown key")
    bad = {"cases": [{"name": "x", "request": {"path": "/a"}, "expect": {"status": 200},
                      "upstreams": [{"upstream": "users", "path": "/u", "error": "timeout",
                                     "status": 200}]}]}
    check(schema_errors(SPECTEST, bad) != [], "the schema refuses a failed call with a status")


def test_examples_pass_bffd_check():
    rc, out = bffd_check(*example_dirs())
    eq(rc, 0, "bffd check on the example profiles:\n" + out)


def test_good_baseline_passes_both():
    # The broken cases below are this spec and profile with one thing wrong.
    eq(schema_errors(ENDPOINT, GOOD_ENDPOINT), [], "schema on the baseline endpoint")
    eq(schema_errors(PROFILE, profile_text()), [], "schema on the baseline profile")
    rc, out = bffd_check(make_profile(endpoints={"card.yaml": GOOD_ENDPOINT}))
    eq(rc, 0, "bffd check on the baseline:\n" + out)


def test_env_placeholders_where_numbers_are_expected():
    profile = """\
name: ${SCHEMA_TEST_NAME:-envtest}
listen: ${SCHEMA_TEST_LISTEN:-127.0.0.1:0}
access_log: ${SCHEMA_TEST_LOG:-off}
limits:
  request_timeout: ${SCHEMA_TEST_TIMEOUT:-2s}
  max_body_bytes: ${SCHEMA_TEST_BODY:-64KiB}
upstreams:
  users:
    url: ${SCHEMA_TEST_USERS_URL:-http://127.0.0.1:9}
    max_connections: ${SCHEMA_TEST_CONNS:-32}
    http2: ${SCHEMA_TEST_H2:-false}
    circuit_breaker: { consecutive_failures: "${SCHEMA_TEST_CF:-3}" }
"""
    endpoint = """\
endpoint: GET /env/{id}
timeout: ${SCHEMA_TEST_EP_TIMEOUT:-800ms}
sources:
  user:
    upstream: users
    path: /users/{id}
    retries: ${SCHEMA_TEST_RETRIES:-1}
response:
  id: user.id
"""
    eq(schema_errors(PROFILE, profile), [], "schema on a profile with ${...} placeholders")
    eq(schema_errors(ENDPOINT, endpoint), [], "schema on an endpoint with ${...} placeholders")
    env = {k: "" for k in os.environ if k.startswith("SCHEMA_TEST_")}
    rc, out = bffd_check(make_profile(profile=profile, endpoints={"env.yaml": endpoint}), env=env)
    eq(rc, 0, "bffd check with the defaults of the placeholders:\n" + out)
    # A placeholder is only a string to the schema; the loader checks the expanded value.
    env["SCHEMA_TEST_RETRIES"] = "9"
    rc, out = bffd_check(make_profile(profile=profile, endpoints={"env.yaml": endpoint}), env=env)
    eq(rc, 1, "retries: 9 from the environment must be rejected:\n" + out)
    check("'retries' must be between 0 and 5" in out, out)


def test_broken_specs_rejected_by_schema():
    for name, kind, where, text, _ in BROKEN:
        validator = PROFILE if kind == "profile" else ENDPOINT
        errs = schema_errors(validator, text)
        check(errs, "the schema accepts the broken case '%s':\n%s" % (name, text))
        # The error an editor shows first must point at the broken key, not at a parent.
        best = jsonschema.exceptions.best_match(validator.iter_errors(yaml.safe_load(text)))
        eq("/".join(str(p) for p in best.absolute_path), where,
           "schema error location for '%s' (%s)" % (name, best.message))


def test_broken_specs_rejected_by_bffd_check():
    for name, kind, _, text, fragment in BROKEN:
        if kind == "profile":
            d = make_profile(profile=text)
        else:
            d = make_profile(endpoints={"broken.yaml": text})
        rc, out = bffd_check(d)
        eq(rc, 1, "bffd check must reject '%s':\n%s" % (name, out))
        check(fragment in out, "bffd check on '%s': expected %r in:\n%s" % (name, fragment, out))
        check(re.search(r"\.yaml:\d+:\d+: ", out), "bffd check on '%s': no file:line:column in:\n%s" % (name, out))


def doc_examples():
    """The complete YAML examples of the reference: blocks starting (after comments) with
    'endpoint:' (a spec) or 'name:' (a profile)."""
    with open(DOC) as f:
        text = f.read()
    out = []
    for m in re.finditer(r"^```yaml\n(.*?)^```", text, re.S | re.M):
        block = m.group(1)
        body = "\n".join(l for l in block.splitlines() if not l.startswith("#")).lstrip()
        line = text.count("\n", 0, m.start()) + 1
        if body.startswith("endpoint:"):
            out.append(("endpoint", line, block))
        elif body.startswith("name:"):
            out.append(("profile", line, block))
    return out


def test_reference_examples_are_valid():
    examples = doc_examples()
    check(len([e for e in examples if e[0] == "endpoint"]) >= 5,
          "expected complete endpoint examples in %s, found %d" % (DOC, len(examples)))
    dirs = []
    for kind, line, block in examples:
        errs = schema_errors(PROFILE if kind == "profile" else ENDPOINT, block)
        eq(errs, [], "schema on the example at %s:%d" % (DOC, line))
        if kind == "profile":
            dirs.append(make_profile(profile=block))
        elif "\ngraphql:" not in block:  # stored operations need a graph: bff/partner has one
            dirs.append(make_profile(endpoints={"example.yaml": block}))
    rc, out = bffd_check(*dirs)
    eq(rc, 0, "bffd check on the reference's examples:\n" + out)


if __name__ == "__main__":
    set_time_limit(120)
    Runner().run([
        test_schemas_are_valid_schemas,
        test_example_profiles_match_schema,
        test_example_endpoints_match_schema,
        test_example_graphs_match_schema,
        test_examples_pass_bffd_check,
        test_good_baseline_passes_both,
        test_env_placeholders_where_numbers_are_expected,
        test_broken_specs_rejected_by_schema,
        test_broken_specs_rejected_by_bffd_check,
        test_reference_examples_are_valid,
    ])
