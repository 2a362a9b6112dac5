#!/usr/bin/env python3
"""tests/kube/walkthrough.py: run the README's "Kubernetes walkthrough".

The walkthrough is the README's section "## Kubernetes walkthrough".  In
it, a code block (indented four spaces) whose first line starts with "$ "
is run: each "$ " line is a command (a line starting with "> " continues
it), and the lines after it, up to the next command or the block's end,
are what it prints.  The commands run in order, in one bash, from the
repository's top directory, with stdin closed and their output on a
terminal, as a learner's.  A command ending in "&" runs
in the background: what it prints first (as many lines as the README
shows) is its output; what it prints later is not compared.

Outputs are compared with the fields that change from run to run masked
(MASKS below) and runs of blanks made one.  Prints TAP, one test a
command; exit status 0 only if every output matched.

  walkthrough.py [--update] README
      --update  write the outputs of this run into README instead

Run it where the learner's commands reach the cluster (tests/kube/run.sh
runs it inside `tests/kube/cluster sh`).
"""
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time

SECTION = "## Kubernetes walkthrough"
COMMAND_TIMEOUT = 300  # seconds; kubectl rollout status waits up to 5 min
BACKGROUND_WAIT = 30  # for a background command's first lines

# What changes from run to run, masked on both sides before comparing.
MASKS = [
    # the pod that a Service or port-forward picked
    (re.compile(r"(X-Served-By: )visits-\d+"), r"\1<pod>"),
    # a moment: times, dates, ages in kubectl's tables
    (re.compile(r"\b\d\d:\d\d:\d\d\b"), "<time>"),
    # helm's (LAST DEPLOYED: Sun Dec  6 13:34:27 2026)
    (re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} +\d{1,2} "
                r"<time> \d{4}\b"), "<date>"),
    (re.compile(r"^(Date: ).*$"), r"\1<date>"),
    (re.compile(r"(?<![\w.-])\d+(\.\d+)?[smhd](\d+[smh])?(?![\w.-])"),
     "<age>"),
    # names made up by the cluster: volumes, revisions, image ids
    (re.compile(r"\bpvc-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\b"),
     "pvc-<uid>"),
    (re.compile(r"\bvisits-[0-9a-f]{8,10}\b"), "visits-<revision>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<id>"),
    # the name a pod's address reverses to: CoreDNS has one under each
    # Service the pod is in (visits, visits-headless), in no fixed order
    (re.compile(r"\b(\d+(-\d+){3}\.visits|visits-\d+\.visits-headless)"
                r"\.default\.svc\.cluster\.local\b"), "<pod's name>"),
    # addresses and ports given out by the cluster
    (re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b"), "<address>"),
    (re.compile(r"\b3[0-2]\d{3}\b"), "<node-port>"),
    # the progress lines of kubectl rollout status: as many as it waited
    (re.compile(r"^Waiting for .*$"), ""),
    (re.compile(r" +"), " "),
]


# A terminal's styles (curl -i shows header names in bold on one).
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def mask(lines):
    out = []
    for line in lines:
        line = line.rstrip()
        for pattern, replacement in MASKS:
            line = pattern.sub(replacement, line)
        line = line.strip()
        if line:
            out.append(line)
    return out


class Command:
    def __init__(self, text, first, expected):
        self.text = text  # the command, continuation lines joined
        self.first = first  # index of its "$ " line in the README
        self.expected = expected  # [(index, line)] of its output


def parse(lines):
    """The commands of the walkthrough section, in order."""
    try:
        start = lines.index(SECTION)
    except ValueError:
        sys.exit(f"walkthrough.py: no '{SECTION}' section")
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith("## ")), len(lines))
    commands = []
    in_run_block = False
    current = None
    for i in range(start + 1, end):
        line = lines[i]
        indented = line.startswith("    ")
        text = line[4:] if indented else line
        if not indented:
            if line.strip():  # prose ends a block; blank lines do not
                in_run_block = False
                current = None
            continue
        if text.startswith("$ "):
            in_run_block = True
            current = Command(text[2:], i, [])
            commands.append(current)
        elif not in_run_block:
            continue
        elif text.startswith("> ") and current and not current.expected:
            current.text += "\n" + text[2:]
        elif current:
            current.expected.append((i, text))
    # Blank lines that end a block belong to no output.
    for c in commands:
        while c.expected and not c.expected[-1][1].strip():
            c.expected.pop()
    return commands


class Shell:
    """One bash for all commands, as one terminal."""

    def __init__(self, top, scratch):
        self.scratch = scratch
        self.marker = f"__walkthrough_{os.getpid()}__"
        # Output to a terminal, as a learner's: curl shows no progress
        # meter there, and stdout and stderr interleave as they come.
        master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.ONLCR  # "\n", not "\r\n"
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        fcntl.ioctl(slave, termios.TIOCSWINSZ,
                    struct.pack("HHHH", 50, 200, 0, 0))
        self.output = master
        env = dict(os.environ, TERM="dumb")  # no colours, no bold
        self.bash = subprocess.Popen(
            ["bash", "--norc", "--noprofile"], cwd=top, env=env,
            stdin=subprocess.PIPE, stdout=slave, stderr=slave,
            start_new_session=True)
        os.close(slave)
        self.background = 0

    def send(self, text):
        self.bash.stdin.write(text.encode())
        self.bash.stdin.flush()

    def run(self, command, want_lines, update):
        """What COMMAND printed, as lines, and its exit status."""
        if command.rstrip().endswith("&") and not command.rstrip().endswith(
                "&&"):
            return self.run_background(command.rstrip()[:-1], want_lines,
                                       update)
        return self.execute(f"{{ {command}\n}} </dev/null")

    def execute(self, script):
        """What SCRIPT printed, as lines, and its exit status."""
        self.send(f"{script}\n"
                  f"printf '\\n{self.marker} %s\\n' \"$?\"\n")
        buf = b""
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return ["(no end within %d s)" % COMMAND_TIMEOUT], None
            ready, _, _ = select.select([self.output], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(self.output, 65536)
            except OSError:  # the terminal's other side closed
                chunk = b""
            if not chunk:
                return (buf.decode(errors="replace").splitlines()
                        + ["(the shell exited)"], None)
            buf += chunk
            text = buf.decode(errors="replace")
            m = re.search(r"\n" + self.marker + r" (\d+)\n$", text)
            if m:
                # As the terminal shows it: without its bold and colours.
                out = ANSI.sub("", text[:m.start()])
                return out.splitlines(), int(m.group(1))

    def run_background(self, command, want_lines, update):
        self.background += 1
        log = os.path.join(self.scratch, f"background-{self.background}")
        lines, status = self.execute(f"{command} </dev/null >{log} 2>&1 &")
        if lines:
            return lines, status
        # Until it printed what the README shows (or, updating, until it
        # stops printing for a moment).
        deadline = time.monotonic() + BACKGROUND_WAIT
        seen, quiet_since = [], time.monotonic()
        while time.monotonic() < deadline:
            try:
                with open(log, errors="replace") as f:
                    now = f.read().splitlines()
            except FileNotFoundError:  # not yet opened by the shell
                now = []
            if now != seen:
                seen, quiet_since = now, time.monotonic()
            if not update and len(seen) >= want_lines:
                return seen[:want_lines], status
            if update and seen and time.monotonic() - quiet_since > 2:
                return seen, status
            time.sleep(0.1)
        return seen, status

    def close(self):
        try:
            self.send("kill $(jobs -p) 2>/dev/null; exit 0\n")
            self.bash.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.bash.kill()


def main():
    args = sys.argv[1:]
    update = "--update" in args
    args = [a for a in args if a != "--update"]
    if len(args) != 1:
        sys.exit("usage: walkthrough.py [--update] README")
    readme = os.path.abspath(args[0])
    top = os.path.dirname(readme)
    with open(readme) as f:
        lines = f.read().split("\n")
    commands = parse(lines)
    print(f"1..{len(commands)}")
    failed = 0
    replacements = {}
    with tempfile.TemporaryDirectory(prefix="walkthrough.") as scratch:
        shell = Shell(top, scratch)
        try:
            for n, c in enumerate(commands, 1):
                start = time.monotonic()
                got, status = shell.run(c.text, len(c.expected), update)
                took = time.monotonic() - start
                name = "$ " + c.text.replace("\n", " ")
                if update:
                    replacements[c] = got
                    print(f"ok {n} - {name} # {took:.1f} s, recorded")
                    continue
                want = [line for _, line in c.expected]
                if mask(got) == mask(want):
                    print(f"ok {n} - {name} # {took:.1f} s")
                    continue
                failed += 1
                print(f"not ok {n} - {name} # status {status}")
                print(f"# README line {c.first + 1}; expected:")
                for line in want:
                    print(f"#   {line}")
                print("# got:")
                for line in got:
                    print(f"#   {line}")
        finally:
            shell.close()
    if update:
        # From the last command up, so that indexes stay right.
        for c in sorted(replacements, key=lambda c: -c.first):
            first = c.first + 1 + c.text.count("\n")
            last = c.expected[-1][0] + 1 if c.expected else first
            lines[first:last] = ["    " + line if line else ""
                                 for line in replacements[c]]
        with open(readme, "w") as f:
            f.write("\n".join(lines))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
