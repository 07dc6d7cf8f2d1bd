#!/usr/bin/env python3
"""gen_corpus.py: a deterministic synthetic event corpus derived from Sigma rules.

  gen_corpus.py --sigma SIGMA_DIR --out FILE [--seed N] [--events N] [--mode oracle|bench]

Reads the SigmaHQ Linux rules (SIGMA_DIR/rules/linux) and writes NDJSON, one
flat event a line: Sigma field names plus the envelope keys "product"
("linux" or "windows") and "category" (process_creation, network_connection,
file_event, ...) or, for auditd records, "service": "auditd" (yamori has no
event category for raw auditd records). Every value is a string.

For each rule with a log source yamori can see (process_creation,
network_connection, file_event, auditd) the generator parses the detection
(search identifiers, modifiers, wildcards, condition), finds truth
assignments of the identifiers that satisfy the condition and some that do
not, and builds events whose field values satisfy each identifier assigned
true (every value of every list is used at least once, up to a cap). Each
such event also gets near-misses: one constrained field changed by a single
edit (case flipped, one byte dropped or replaced by a SQL LIKE metacharacter,
shifted by one byte, the field removed or emptied, a newline or non-ASCII byte
added). Benign noise fills the rest up to --events. Nothing here decides what
should match: the oracle compares the two engines; the generator only aims
for coverage. Same seed, same rules -> byte-identical output.

--mode bench: mostly benign events (about 2 % rule-derived), Linux and
Windows (process_creation, network_connection, file_event, ...), the Windows
part in the shape of SigmaHQ's regression data (Event.EventData fields,
flattened) with its records mixed in as the malicious share."""
import argparse
import glob
import ipaddress
import json
import os
import random
import re
import sys
import warnings

try:
    import yaml
except ImportError:
    print("gen_corpus: python3-yaml (PyYAML) is needed", file=sys.stderr)
    sys.exit(77)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        import re._parser as sre_parse  # Python >= 3.11
        import re._constants as sre_c
    except ImportError:  # pragma: no cover
        import sre_parse
        import sre_constants as sre_c

CATS = ("process_creation", "network_connection", "file_event")

# ---------------------------------------------------------------- benign noise

USERS = ["root", "alice", "bob", "www-data", "postgres", "deploy", "nobody", "ubuntu"]
DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/usr/local/bin", "/sbin", "/opt/app/bin"]
BENIGN_CMDS = [
    ("/usr/bin/ls", "ls -la /var/www"), ("/usr/bin/cat", "cat /etc/hostname"),
    ("/usr/bin/grep", "grep -r TODO src/"), ("/usr/bin/systemctl", "systemctl status nginx"),
    ("/usr/bin/apt-get", "apt-get update -q"), ("/usr/bin/python3.11", "python3 manage.py migrate"),
    ("/usr/bin/git", "git pull --rebase origin main"), ("/usr/bin/gcc-12", "gcc -O2 -c main.c"),
    ("/usr/bin/make", "make -j2 all"), ("/usr/bin/tar", "tar czf backup.tgz /srv/data"),
    ("/usr/bin/rsync", "rsync -a /srv/ backup:/srv/"), ("/usr/bin/ssh", "ssh deploy@10.0.0.5 uptime"),
    ("/usr/bin/vim.basic", "vim notes.txt"), ("/usr/bin/less", "less /var/log/syslog"),
    ("/usr/bin/dpkg", "dpkg -l"), ("/usr/bin/date", "date +%s"), ("/usr/bin/sleep", "sleep 5"),
    ("/usr/bin/sort", "sort -u list.txt"), ("/usr/bin/head", "head -n 20 access.log"),
    ("/usr/bin/node", "node server.js --port 3000"), ("/usr/sbin/nginx", "nginx -g daemon off;"),
    ("/usr/bin/dash", "sh -c run-parts /etc/cron.daily"), ("/usr/bin/bash", "bash ./deploy.sh"),
    ("/usr/bin/journalctl", "journalctl -u ssh --since today"), ("/usr/bin/df", "df -h"),
    ("/usr/bin/du", "du -sh /var/lib/docker"), ("/usr/bin/awk", "awk {print $1} access.log"),
    ("/usr/bin/sed", "sed -n 1,10p README.md"), ("/usr/bin/find", "find . -name *.pyc -delete"),
    ("/usr/bin/docker", "docker ps -a"), ("/usr/bin/kubectl", "kubectl get pods -n prod"),
    ("/usr/bin/curl", "curl -fsS https://api.example.com/health"), ("/usr/bin/top", "top -b -n 1"),
    ("/usr/lib/postgresql/15/bin/postgres", "postgres -D /var/lib/postgresql/15/main"),
    ("/usr/bin/perl", "perl -e print 1"), ("/usr/bin/cp", "cp report.pdf /srv/share/"),
    ("/usr/bin/mkdir", "mkdir -p build/out"), ("/usr/bin/rm", "rm -f build/out/main.o"),
    ("/usr/bin/chmod", "chmod 644 index.html"), ("/usr/bin/uptime", "uptime"),
]
PARENTS = [("/usr/bin/bash", "-bash"), ("/usr/sbin/sshd", "sshd: alice [priv]"),
           ("/usr/lib/systemd/systemd", "/sbin/init"), ("/usr/sbin/cron", "/usr/sbin/cron -f"),
           ("/usr/bin/dash", "sh -c make test"), ("/usr/bin/python3.11", "python3 worker.py"),
           ("/usr/bin/zsh", "zsh")]
CWDS = ["/root", "/home/alice", "/srv/app", "/var/www", "/tmp", "/", "/home/bob/src"]
HOSTS = ["api.example.com", "deb.debian.org", "github.com", "pypi.org", "updates.example.net",
         "metrics.internal", "s3.amazonaws.com", "ntp.ubuntu.com"]
NET_IMAGES = ["/usr/bin/curl", "/usr/bin/wget", "/usr/sbin/sshd", "/usr/bin/python3.11",
              "/usr/lib/apt/methods/http", "/usr/sbin/chronyd", "/usr/bin/node",
              "/usr/sbin/nginx", "/usr/bin/ssh", "/usr/bin/dockerd"]
PORTS = ["443", "80", "22", "53", "123", "5432", "8080", "3306", "6379", "9090"]
FILES = ["/var/log/nginx/access.log", "/home/alice/.cache/pip/http/a.bin", "/srv/app/data.db",
         "/tmp/tmp8s7d6f/build.o", "/var/lib/dpkg/status", "/etc/nginx/conf.d/site.conf",
         "/home/bob/src/main.c", "/var/spool/postfix/q/1A2B", "/var/tmp/systemd-private/x",
         "/opt/app/logs/app.log"]
SYSCALLS = ["openat", "read", "write", "connect", "execve", "clone", "mmap", "close"]


def r_ip(rnd, private=None):
    if private is None:
        private = rnd.random() < 0.5
    if private:
        return rnd.choice(["10.%d.%d.%d" % (rnd.randrange(256), rnd.randrange(256),
                                            rnd.randrange(1, 255)),
                           "192.168.%d.%d" % (rnd.randrange(256), rnd.randrange(1, 255)),
                           "127.0.0.1"])
    return "%d.%d.%d.%d" % (rnd.choice([34, 52, 81, 93, 104, 142, 151, 185, 203]),
                            rnd.randrange(256), rnd.randrange(256), rnd.randrange(1, 255))


def benign(rnd, cat, atype=None):
    """A realistic benign event of a category: always the category's full field set."""
    if cat == "process_creation":
        img, cmd = rnd.choice(BENIGN_CMDS)
        pimg, pcmd = rnd.choice(PARENTS)
        user = rnd.choice(USERS)
        return {"Image": img, "CommandLine": cmd, "ParentImage": pimg,
                "ParentCommandLine": pcmd, "User": user, "CurrentDirectory": rnd.choice(CWDS),
                "LogonId": "0" if user == "root" else str(1000 + rnd.randrange(5)),
                "ProcessId": str(rnd.randrange(300, 4000000)),
                "ParentProcessId": str(rnd.randrange(1, 4000000))}
    if cat == "network_connection":
        return {"Image": rnd.choice(NET_IMAGES), "ProcessId": str(rnd.randrange(300, 4000000)),
                "User": rnd.choice(USERS), "DestinationIp": r_ip(rnd),
                "DestinationPort": rnd.choice(PORTS), "DestinationHostname": rnd.choice(HOSTS),
                "SourceIp": "10.0.%d.%d" % (rnd.randrange(4), rnd.randrange(1, 255)),
                "SourcePort": str(rnd.randrange(32768, 61000)), "Protocol": "tcp",
                "Initiated": "true"}
    if cat == "file_event":
        return {"TargetFilename": rnd.choice(FILES), "Image": rnd.choice(BENIGN_CMDS)[0],
                "ProcessId": str(rnd.randrange(300, 4000000)), "User": rnd.choice(USERS)}
    # auditd record: fields depend on the record type
    t = atype or rnd.choice(["SYSCALL", "EXECVE", "PATH", "CWD", "PROCTITLE", "USER_LOGIN"])
    ev = {"type": t}
    if t == "SYSCALL":
        img = rnd.choice(BENIGN_CMDS)[0]
        ev.update({"SYSCALL": rnd.choice(SYSCALLS), "exe": img, "comm": img.rsplit("/", 1)[1][:15],
                   "success": "yes", "uid": "1000", "euid": rnd.choice(["0", "1000", "33"]),
                   "a0": "%x" % rnd.randrange(1 << 16), "a1": "%x" % rnd.randrange(1 << 16),
                   "a2": "0", "a3": "0", "key": rnd.choice(["", "exec", "access"])})
        if not ev["key"]:
            del ev["key"]
    elif t == "EXECVE":
        args = rnd.choice(BENIGN_CMDS)[1].split(" ")
        ev["argc"] = str(len(args))
        for i, a in enumerate(args[:8]):
            ev["a%d" % i] = a
    elif t == "PATH":
        ev.update({"item": "0", "name": rnd.choice(FILES), "nametype": rnd.choice(["NORMAL", "CREATE"]),
                   "inode": str(rnd.randrange(1 << 20))})
    elif t == "CWD":
        ev["cwd"] = rnd.choice(CWDS)
    elif t == "PROCTITLE":
        ev["proctitle"] = rnd.choice(BENIGN_CMDS)[1]
    elif t == "SERVICE_STOP":
        ev["unit"] = rnd.choice(["nginx", "cron", "ssh", "postgresql"])
    else:
        ev.update({"acct": rnd.choice(USERS), "res": "success", "addr": r_ip(rnd)})
    return ev


# ------------------------------------------------------------- Sigma parsing

def load_rules(sigma_dir):
    rules = []
    for path in sorted(glob.glob(os.path.join(sigma_dir, "rules", "linux", "**", "*.yml"),
                                 recursive=True)):
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if not isinstance(doc, dict) or "detection" not in doc:
                    continue
                ls = doc.get("logsource") or {}
                cat = ls.get("category")
                if cat not in CATS:
                    cat = "auditd" if ls.get("service") == "auditd" else None
                if cat:
                    rules.append((path, doc, cat))
    return rules


def parse_value(v):
    """Sigma plain value -> list of ('lit', text) / ('star',) / ('one',) tokens."""
    if v is None:
        return None
    if isinstance(v, bool):
        v = "true" if v else "false"
    s = str(v)
    out, lit, i = [], [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s) and s[i + 1] in "*?\\":
            lit.append(s[i + 1])
            i += 2
            continue
        if c in "*?":
            if lit:
                out.append(("lit", "".join(lit)))
                lit = []
            out.append(("star",) if c == "*" else ("one",))
        else:
            lit.append(c)
        i += 1
    if lit:
        out.append(("lit", "".join(lit)))
    return out


class Item:
    """One field item of a map: field, modifiers, values (OR, or AND with all)."""

    def __init__(self, key, val):
        parts = key.split("|")
        self.field = parts[0]
        self.mods = [m for m in parts[1:]]
        vals = val if isinstance(val, list) else [val]
        self.values = vals
        self.all = "all" in self.mods
        self.re = "re" in self.mods
        self.kind = next((m for m in self.mods if m in ("contains", "startswith", "endswith")),
                         "eq")
        self.exists = "exists" in self.mods
        self.cidr = "cidr" in self.mods
        self.unsupported = any(m in ("base64", "base64offset", "windash", "fieldref",
                                     "lt", "lte", "gt", "gte") for m in self.mods)


def parse_search(val):
    """A search identifier -> list of alternatives; each is a list of Items (AND).
    Keyword lists become items on the pseudo field None."""
    if isinstance(val, dict):
        return [[Item(k, v) for k, v in val.items()]]
    if isinstance(val, list):
        if all(isinstance(x, dict) for x in val):
            return [[Item(k, v) for k, v in m.items()] for m in val]
        return [[Item("|contains", [x])] for x in val if not isinstance(x, dict)]
    return [[Item("|contains", [val])]]


def tokenize_cond(c):
    return re.findall(r"\(|\)|[^\s()]+", c)


def parse_cond(cond, idents):
    """Condition -> nested tuples: ('or', a, b), ('and', ..), ('not', x), ('id', name)."""
    toks = tokenize_cond(cond)
    pos = [0]

    def peek():
        return toks[pos[0]].lower() if pos[0] < len(toks) else None

    def take():
        t = toks[pos[0]]
        pos[0] += 1
        return t

    def names(pat):
        if pat == "them":
            return [n for n in idents if not n.startswith("_")]
        rx = re.compile("^" + re.escape(pat).replace("\\*", ".*") + "$")
        return [n for n in idents if rx.match(n)]

    def prim():
        t = peek()
        if t == "(":
            take()
            e = p_or()
            take()
            return e
        if t in ("1", "any", "all") and pos[0] + 1 < len(toks) and toks[pos[0] + 1].lower() == "of":
            take()
            take()
            ns = names(take())
            return ("and" if t == "all" else "or",) + tuple(("id", n) for n in ns)
        return ("id", take())

    def p_not():
        if peek() == "not":
            take()
            return ("not", p_not())
        return prim()

    def p_and():
        e = p_not()
        while peek() == "and":
            take()
            e = ("and", e, p_not())
        return e

    def p_or():
        e = p_and()
        while peek() == "or":
            take()
            e = ("or", e, p_and())
        return e

    return p_or()


def ev_cond(e, truth):
    op = e[0]
    if op == "id":
        return truth.get(e[1], False)
    if op == "not":
        return not ev_cond(e[1], truth)
    if op == "and":
        return all(ev_cond(x, truth) for x in e[1:])
    return any(ev_cond(x, truth) for x in e[1:])


# --------------------------------------------------------- value synthesis

CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


def r_tok(rnd, n=None):
    return "".join(rnd.choice(CHARS) for _ in range(n if n is not None else rnd.randrange(1, 7)))


def sample_regex(rnd, pattern):
    """A random string that re.search(pattern) accepts (best effort)."""
    try:
        tree = sre_parse.parse(pattern)
    except Exception:  # noqa: BLE001 - any parse failure: fall back to the text
        return pattern

    def cat_char(c):
        if c == sre_c.CATEGORY_DIGIT:
            return rnd.choice("0123456789")
        if c == sre_c.CATEGORY_SPACE:
            return " "
        if c == sre_c.CATEGORY_WORD:
            return rnd.choice(CHARS)
        if c == sre_c.CATEGORY_NOT_SPACE:
            return rnd.choice(CHARS)
        return "x"

    def in_set(items):
        neg = any(op == sre_c.NEGATE for op, _ in items)
        if neg:
            for _ in range(50):
                c = rnd.choice(CHARS + "-_/. ")
                if not re.fullmatch(pattern_of_set(items), c):
                    continue
                return c
            return "q"
        op, av = rnd.choice(items)
        if op == sre_c.LITERAL:
            return chr(av)
        if op == sre_c.RANGE:
            return chr(rnd.randrange(av[0], av[1] + 1))
        if op == sre_c.CATEGORY:
            return cat_char(av)
        return "x"

    def pattern_of_set(items):
        return "[" + "".join(
            "^" if op == sre_c.NEGATE else re.escape(chr(av)) if op == sre_c.LITERAL else
            "%s-%s" % (re.escape(chr(av[0])), re.escape(chr(av[1]))) if op == sre_c.RANGE else
            {sre_c.CATEGORY_DIGIT: "\\d", sre_c.CATEGORY_SPACE: "\\s",
             sre_c.CATEGORY_WORD: "\\w", sre_c.CATEGORY_NOT_SPACE: "\\S"}.get(av, "")
            if op == sre_c.CATEGORY else "" for op, av in items) + "]"

    def gen(seq):
        out = []
        for op, av in seq:
            if op == sre_c.LITERAL:
                out.append(chr(av))
            elif op == sre_c.NOT_LITERAL:
                out.append("x" if chr(av) != "x" else "y")
            elif op == sre_c.ANY:
                out.append(rnd.choice(CHARS))
            elif op == sre_c.IN:
                out.append(in_set(av))
            elif op == sre_c.BRANCH:
                out.append(gen(rnd.choice(av[1])))
            elif op == sre_c.SUBPATTERN:
                out.append(gen(av[-1]))
            elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", -1)):
                lo, hi, sub = av
                hi = lo + 3 if hi == sre_c.MAXREPEAT or hi > lo + 3 else hi
                out.append("".join(gen(sub) for _ in range(rnd.randint(lo, hi))))
            elif op == sre_c.CATEGORY:
                out.append(cat_char(av))
        return "".join(out)

    for _ in range(30):
        s = gen(tree)
        if re.search(pattern, s):
            return s
    return s


def cidr_addr(rnd, net, outside):
    """An address inside net, or (outside) one just past either end of it, or
    for a single IPv6 host one whose text starts with the host's text."""
    try:
        n = ipaddress.ip_network(net, strict=False)
    except ValueError:
        return net
    if outside:
        if n.version == 6 and n.prefixlen == 128:
            return str(n.network_address) + rnd.choice("0f")
        ends = []
        if int(n.network_address) > 0:
            ends.append(n.network_address - 1)
        if int(n.broadcast_address) < (1 << n.max_prefixlen) - 1:
            ends.append(n.broadcast_address + 1)
        return str(rnd.choice(ends)) if ends else str(n.network_address)
    return str(n.network_address + rnd.randrange(n.num_addresses))


def overlap(tokens):
    """A trap for glob matchers: the literals around each '*' overlapped as far
    as they can ('/home/*/.bashrc' -> '/home/.bashrc'), which a correct
    matcher must not accept when the overlap is not empty."""
    out = ""
    for t in tokens:
        if t[0] != "lit":
            continue
        lit = t[1]
        k = min(len(out), len(lit))
        while k and not out.endswith(lit[:k]):
            k -= 1
        out += lit[k:]
    return out


def render(tokens, rnd):
    out = []
    for t in tokens:
        if t[0] == "lit":
            out.append(t[1])
        elif t[0] == "star":
            out.append(rnd.choice(["", r_tok(rnd), "/" + r_tok(rnd) + "/", " " + r_tok(rnd) + " "]))
        else:
            out.append(rnd.choice(CHARS))
    return "".join(out)


def context(rnd, field, side):
    """Plausible text around a contains/startswith/endswith value."""
    f = (field or "").lower()
    if side == "pre":
        if f in ("image", "parentimage", "exe", "targetfilename", "name"):
            return rnd.choice(DIRS + ["/tmp/." + r_tok(rnd), "/home/alice"])
        if f in ("commandline", "parentcommandline", "proctitle"):
            return rnd.choice(["bash -c ", "sh -c '", "sudo ", "", "env X=1 ", "nohup "])
        return rnd.choice(["", r_tok(rnd)])
    if f in ("commandline", "parentcommandline", "proctitle"):
        return rnd.choice(["", " " + r_tok(rnd), " -v " + r_tok(rnd), "'", " 2>/dev/null"])
    if f in ("image", "parentimage", "exe", "targetfilename", "name"):
        return rnd.choice(["", r_tok(rnd), "/" + r_tok(rnd)])
    return rnd.choice(["", r_tok(rnd)])


def satisfy(item, vi, rnd):
    """Values (one string per constrained piece) that make item true; vi picks
    which list value to use (so every value gets used over the positives)."""
    if item.exists:
        v = item.values[0]
        return ("exists", bool(v in (True, "true", "True")))
    vals = item.values if item.all else [item.values[vi % len(item.values)]]
    pieces = []
    for v in vals:
        if v is None:
            return ("null", None)
        if item.re:
            pieces.append(("re", sample_regex(rnd, str(v))))
            continue
        if item.cidr:
            pieces.append(("eq", cidr_addr(rnd, str(v), rnd.random() < 0.3)))
            continue
        toks = parse_value(v)
        if toks == [] and item.kind == "eq":
            return ("empty", "")
        if rnd.random() < 0.25 and any(t[0] == "star" for t in toks[1:-1]):
            pieces.append((item.kind, overlap(toks)))
        else:
            pieces.append((item.kind, render(toks, rnd)))
    return ("pieces", pieces)


def compose(field, pieces, rnd):
    """One string satisfying all pieces (eq wins; startswith first, endswith last)."""
    eq = [p for k, p in pieces if k == "eq"]
    if eq:
        return eq[0]
    starts = [p for k, p in pieces if k == "startswith"]
    ends = [p for k, p in pieces if k == "endswith"]
    mids = [p for k, p in pieces if k in ("contains", "re")]
    s = starts[0] if starts else context(rnd, field, "pre")
    for m in mids:
        s += (" " if s and not s.endswith((" ", "/", "'")) and rnd.random() < 0.5 else "") + m
    s += ends[0] if ends else context(rnd, field, "post")
    return s


# ---------------------------------------------------------- Sigma matcher
# Only steers generation (how many predicted positives per rule); the oracle
# never uses its verdicts.

def glob_rx(tokens):
    return "".join(re.escape(t[1]) if t[0] == "lit" else ".*" if t[0] == "star" else "."
                   for t in tokens)


def item_match(item, ev):
    if item.field == "":
        fvals = list(ev.values())
    else:
        fv = ev.get(item.field)
        if fv is None:
            fv = next((v for k, v in ev.items() if k.lower() == item.field.lower()), None)
        fvals = [fv]
    if item.exists:
        return (fvals[0] is not None) == (item.values[0] in (True, "true", "True"))
    res = []
    for v in item.values:
        ok = False
        for fv in fvals:
            if v is None:
                ok = ok or fv is None or fv == ""
                continue
            if fv is None:
                continue
            if item.cidr:
                try:
                    ok = ok or ipaddress.ip_address(fv) in ipaddress.ip_network(str(v), strict=False)
                except ValueError:
                    pass
                continue
            if item.re:
                try:
                    ok = ok or re.search(str(v), fv) is not None
                except re.error:
                    pass
                continue
            rx = glob_rx(parse_value(v))
            rx = {"contains": ".*" + rx + ".*", "startswith": rx + ".*",
                  "endswith": ".*" + rx}.get(item.kind, rx)
            ok = ok or re.fullmatch(rx, fv, re.S | re.I) is not None
        res.append(ok)
    return all(res) if item.all else any(res)


def search_match(alts, ev):
    return any(all(item_match(i, ev) for i in alt) for alt in alts)


# ------------------------------------------------------------- rule events

def mutations(rnd, ev, fields):
    """Near-misses of ev: one constrained field changed by one small edit."""
    out = []
    for f in fields:
        v = ev.get(f)
        if v is None:
            continue
        kinds = ["upper", "drop_char", "like_meta", "shift_start", "shift_end", "remove",
                 "empty", "newline", "nonascii", "swap_case_first"]
        for k in rnd.sample(kinds, 2):
            m = dict(ev)
            if k == "upper":
                m[f] = v.upper() if v != v.upper() else v.lower()
            elif k == "swap_case_first":
                i = next((j for j, c in enumerate(v) if c.isalpha()), None)
                if i is None:
                    continue
                m[f] = v[:i] + v[i].swapcase() + v[i + 1:]
            elif k == "drop_char" and v:
                i = rnd.randrange(len(v))
                m[f] = v[:i] + v[i + 1:]
            elif k == "like_meta" and v:
                i = rnd.randrange(len(v))
                m[f] = v[:i] + rnd.choice("_%\\*?") + v[i + 1:]
            elif k == "shift_start":
                m[f] = rnd.choice(["x", " ", "/"]) + v
            elif k == "shift_end":
                m[f] = v + rnd.choice(["x", " ", "/"])
            elif k == "remove":
                del m[f]
            elif k == "empty":
                m[f] = ""
            elif k == "newline" and v:
                i = rnd.randrange(len(v) + 1)
                m[f] = v[:i] + "\n" + v[i:]
            elif k == "nonascii":
                m[f] = rnd.choice(["\u00e9", "\u0130", "\u00df", "\u00c9"]) + v
            else:
                continue
            out.append(m)
    return out


def rule_events(rnd, path, doc, cat, per_rule):
    det = doc["detection"]
    idents = [k for k in det if k not in ("condition", "timeframe")]
    searches = {k: parse_search(det[k]) for k in idents}
    conds = det["condition"] if isinstance(det["condition"], list) else [det["condition"]]
    if any("|" in c for c in conds):
        return [], 0
    tree = ("or",) + tuple(parse_cond(c, idents) for c in conds)
    # truth assignments: all when few identifiers, else random ones
    if len(idents) <= 10:
        assigns = [{n: bool(b >> i & 1) for i, n in enumerate(idents)} for b in range(1 << len(idents))]
    else:
        assigns = [{n: rnd.random() < 0.5 for n in idents} for _ in range(1024)]
    sat = [a for a in assigns if ev_cond(tree, a)]
    unsat = [a for a in assigns if not ev_cond(tree, a) and any(a.values())]
    # prefer assignments with few true identifiers (filters false)
    sat.sort(key=lambda a: sum(a.values()))
    sat = sat[:8]
    rnd.shuffle(unsat)
    unsat = unsat[:4]
    width = max([len(i.values) for alts in searches.values() for alt in alts for i in alt] +
                [len(alts) for alts in searches.values()] + [1])
    n = min(max(width, 16), per_rule)
    out, positives = [], 0
    for j in range(n):
        plan = [(sat[j % len(sat)], True)] if sat else []
        if unsat and j % 3 == 0:
            plan.append((unsat[(j // 3) % len(unsat)], False))
        for a, _want in plan:
            ev, constrained = build(rnd, cat, searches, a, j)
            if ev is None:
                continue
            truth = {k: search_match(searches[k], ev) for k in idents}
            if ev_cond(tree, truth):
                positives += 1
            out.append(ev)
            out.extend(mutations(rnd, ev, constrained))
    return out, positives


def build(rnd, cat, searches, assign, j):
    per_field = {}
    special = {}
    atype = None
    for name, alts in searches.items():
        if not assign[name]:
            continue
        alt = alts[j % len(alts)]
        for it in alt:
            if it.unsupported:
                continue
            r = satisfy(it, j, rnd)
            if r[0] == "pieces":
                per_field.setdefault(it.field, []).extend(r[1])
            else:
                special[it.field] = r
            if it.field == "type" and r[0] == "pieces":
                atype = r[1][0][1]
    ev = benign(rnd, cat, atype.upper() if atype else None)
    kw = []
    for f, pieces in per_field.items():
        if f == "":
            kw.append(compose("CommandLine", pieces, rnd))
            continue
        ev[f] = compose(f, pieces, rnd)
    if kw:
        key = {"process_creation": "CommandLine", "network_connection": "DestinationHostname",
               "file_event": "TargetFilename"}.get(cat, "proctitle")
        ev[key] = " ".join(kw)
    for f, r in special.items():
        if r[0] == "null" or (r[0] == "exists" and not r[1]):
            ev.pop(f, None)
        elif r[0] == "empty":
            ev[f] = ""
        elif r[0] == "exists":
            ev.setdefault(f, r_tok(rnd))
    # the negated identifiers: flip a field they test so they are less likely true
    for name, alts in searches.items():
        if assign[name]:
            continue
        for alt in alts:
            for it in alt:
                if it.field and it.field not in per_field and it.field in ev and rnd.random() < 0.3:
                    r = satisfy(it, j, rnd)
                    if r[0] == "pieces":
                        ev[it.field] = compose(it.field, r[1], rnd)
    return ev, [f for f in per_field if f] + [f for f in special if f]


def envelope(cat, fields, product="linux"):
    ev = {"product": product}
    if cat == "auditd":
        ev["service"] = "auditd"
    else:
        ev["category"] = cat
    for k, v in fields.items():
        if k not in ("product", "category", "service"):
            ev[k] = v
    return ev


# ---------------------------------------------------------------- Windows

WIN_PROCS = [
    ("C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p"),
    ("C:\\Windows\\System32\\RuntimeBroker.exe", "C:\\Windows\\System32\\RuntimeBroker.exe -Embedding"),
    ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
     "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer"),
    ("C:\\Windows\\System32\\conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1"),
    ("C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
     "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE\""),
    ("C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE"),
    ("C:\\Windows\\System32\\taskhostw.exe", "taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}"),
    ("C:\\Windows\\System32\\SearchProtocolHost.exe",
     "\"C:\\Windows\\system32\\SearchProtocolHost.exe\" Global\\UsGthrFltPipeMssGthrPipe1"),
    ("C:\\Program Files\\Git\\cmd\\git.exe", "git.exe fetch --all"),
    ("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
     "powershell.exe -NoProfile -File C:\\scripts\\inventory.ps1"),
]


def win_benign(rnd):
    img, cmd = rnd.choice(WIN_PROCS)
    pimg, pcmd = rnd.choice(WIN_PROCS[:6])
    cat = rnd.choice(["process_creation"] * 6 + ["network_connection", "file_event", "image_load"])
    base = {"UtcTime": "2026-11-26 10:%02d:%02d.%03d" % (rnd.randrange(60), rnd.randrange(60),
                                                          rnd.randrange(1000)),
            "ProcessGuid": "{%08x-1234-5678-9abc-def012345678}" % rnd.randrange(1 << 32),
            "ProcessId": str(rnd.randrange(4, 60000)), "Image": img,
            "User": rnd.choice(["CORP\\alice", "NT AUTHORITY\\SYSTEM", "CORP\\bob"])}
    if cat == "process_creation":
        base.update({"CommandLine": cmd, "CurrentDirectory": "C:\\Windows\\system32\\",
                     "IntegrityLevel": rnd.choice(["Medium", "High", "System"]),
                     "Hashes": "SHA256=%064x" % rnd.getrandbits(256), "ParentImage": pimg,
                     "ParentCommandLine": pcmd, "OriginalFileName": img.rsplit("\\", 1)[1],
                     "Company": "Microsoft Corporation", "Product": "Microsoft Windows"})
    elif cat == "network_connection":
        base.update({"Protocol": "tcp", "Initiated": "true", "SourceIp": "10.1.2.3",
                     "SourcePort": str(rnd.randrange(49152, 65535)),
                     "DestinationIp": r_ip(rnd), "DestinationPort": rnd.choice(PORTS),
                     "DestinationHostname": rnd.choice(HOSTS)})
    elif cat == "file_event":
        base["TargetFilename"] = "C:\\Users\\alice\\AppData\\Local\\Temp\\%s.tmp" % r_tok(rnd, 8)
    else:
        base.update({"ImageLoaded": "C:\\Windows\\System32\\%s.dll" % rnd.choice(
            ["kernel32", "ntdll", "user32", "advapi32", "combase"]), "Signed": "true"})
    return cat, base


def win_regression(sigma_dir):
    """Records of SigmaHQ's regression data: (category, flat EventData)."""
    out = []
    for path in sorted(glob.glob(os.path.join(sigma_dir, "regression_data", "**", "*.json"),
                                 recursive=True)):
        parts = path.split(os.sep)
        if "windows" not in parts:
            continue
        cat = parts[parts.index("windows") + 1]
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        dec, pos = json.JSONDecoder(), 0
        while pos < len(text):
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                break
            try:
                rec, pos = dec.raw_decode(text, pos)
            except ValueError:
                break
            data = (rec.get("Event") or {}).get("EventData")
            if isinstance(data, dict):
                flat = {k: str(v) for k, v in data.items()
                        if v is not None and re.fullmatch(r"[A-Za-z0-9_.]+", k)}
                out.append((cat, flat))
    return out


# ------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sigma", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--events", type=int, default=100000)
    ap.add_argument("--mode", choices=("oracle", "bench"), default="oracle")
    ap.add_argument("--per-rule", type=int, default=40)
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(args.sigma, "rules", "linux")):
        print("gen_corpus: no SigmaHQ Linux rules under %s" % args.sigma, file=sys.stderr)
        return 77
    rnd = random.Random(args.seed)
    rules = load_rules(args.sigma)
    derived, covered = [], 0
    for path, doc, cat in rules:
        evs, pos = rule_events(rnd, path, doc, cat, args.per_rule)
        covered += pos > 0
        derived.extend(envelope(cat, e) for e in evs)
    print("gen_corpus: %d rules, %d with a predicted positive, %d rule-derived events"
          % (len(rules), covered, len(derived)), file=sys.stderr)
    events = []
    cats = list(CATS) + ["auditd"]
    weights = [55, 15, 15, 15]
    if args.mode == "oracle":
        events = list(derived)
        while len(events) < args.events:
            cat = rnd.choices(cats, weights)[0]
            events.append(envelope(cat, benign(rnd, cat)))
        rnd.shuffle(events)
    else:
        malicious = rnd.sample(derived, min(len(derived), args.events // 100))
        wreg = win_regression(args.sigma)
        wmal = [envelope(c, f, "windows") for c, f in
                rnd.sample(wreg, min(len(wreg), args.events // 100))]
        events = malicious + wmal
        while len(events) < args.events:
            if rnd.random() < 0.6:
                cat = rnd.choices(cats, weights)[0]
                events.append(envelope(cat, benign(rnd, cat)))
            else:
                c, f = win_benign(rnd)
                events.append(envelope(c, f, "windows"))
        rnd.shuffle(events)
    with open(args.out, "w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")
    print("gen_corpus: wrote %d events to %s" % (len(events), args.out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
