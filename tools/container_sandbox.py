#!/usr/bin/env python3
"""Run a command the way a container runtime would start it, without one.

    container_sandbox.py --profile PROFILE [--caps docker] [options] -- CMD ARGS...

Two things a default container imposes on its process are reproduced here:

  * the runtime's default seccomp profile, evaluated as the runtime evaluates
    it for the container's capability set, architecture and kernel, and loaded
    as runc loads it (libseccomp, plus runc's -ENOSYS stub);
  * the default capability set: the bounding, permitted, effective,
    inheritable and ambient sets cut down as runc cuts them.

Then CMD is exec'd (PATH search).  Nothing else of a container is emulated
(no namespaces, no rootfs, no cgroups, no AppArmor/SELinux, no masked /proc
paths): this is a test harness for what seccomp and capabilities refuse.

PROFILE is a runtime name -- docker, podman, crio, containerd (= k8s) --
naming that runtime's published default profile, fetched from Debian's
archive into a cache outside the checkout on first use (see PUBLISHED and
cache_dir()), or a profile file as published:
  * moby's seccomp/default.json (Docker; "archMap", "includes"/"excludes",
    "minKernel"),
  * containers/common's seccomp.json (podman, CRI-O; adds "errno"/
    "defaultErrno" names),
  * or containerd's contrib/seccomp/seccomp_default.go (Kubernetes'
    RuntimeDefault under containerd), which exists only as Go source: it is
    translated into the moby schema above (see ContainerdGoProfile).

The profile evaluation mirrors moby's profiles/seccomp setupSeccomp() and
containers/common's pkg/seccomp setupSeccomp(): a rule is dropped when its
"excludes" match (an arch equal to the native one, ANY listed cap in the
container's bounding set, a kernel >= minKernel) or its "includes" do not
(the native arch not listed, ANY listed cap missing from the bounding set, a
kernel < minKernel).  The filter is then built as runc's
libcontainer/seccomp InitSeccomp() builds it: libseccomp with the default
action, the archMap's native arch and its sub-arches, libseccomp's own
no_new_privs attribute off (runc sets no_new_privs itself, only when asked),
one rule per syscall name, a rule whose action equals the default skipped,
names libseccomp does not know skipped, conditions on one argument index
appearing twice split into separate rules; then patchbpf's -ENOSYS stub
prepended (syscalls numbered above the largest the profile names get ENOSYS
rather than the default action, so that new syscalls fall back; runc adds
it whenever the default action is not allow/log/trace -- its check meant to
skip it for an ENOSYS default compares an errno with a whole action value and
never matches, which changes no result) and the program loaded with
seccomp(2), SECCOMP_FILTER_FLAG_SPEC_ALLOW set as runc's specconv sets it
when the profile names no flags.  Which names are "known" depends on the
libseccomp here (Debian's libseccomp2); runc links its own, possibly newer
one, so only syscalls newer than this machine's libseccomp can differ.

Order (runc's libcontainer/standard_init_linux.go and finalizeNamespace() in
init_linux.go):
  without no_new_privs (the default for Docker, podman and Kubernetes):
    1. load the seccomp filter -- while the process still holds
       CAP_SYS_ADMIN, which the kernel requires for a filter without
       no_new_privs;
    2. mark every fd above 2 close-on-exec;
    3. drop the bounding set (PR_CAPBSET_DROP);
    4. with --user: PR_SET_KEEPCAPS, setgroups/setgid/setuid, clear KEEPCAPS;
    5. capset(): effective = permitted = the set, inheritable empty (moby's
       oci.SetCapabilities, containerd's populateDefaultUnixSpec and
       containers/common set no inheritable caps); clear the ambient set;
    6. execvp.
  with --no-new-privileges: PR_SET_NO_NEW_PRIVS first, steps 2-5, and the
    filter loaded last, just before execvp.

The libseccomp calls go through ctypes to libseccomp.so.2 (every Debian has
it: apt depends on it), so no binding package is needed.  Nothing is printed
on success: the command's own output is all there is.  Errors go to stderr
with exit status 125, as `docker run` reports its own failures.
"""
import argparse
import ctypes
import ctypes.util
import errno as errno_mod
import json
import os
import platform
import re
import shlex
import shutil
import struct
import sys

# --- capabilities ----------------------------------------------------------

# include/uapi/linux/capability.h
CAP_NUMBERS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
    "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}

# The runtimes' default capability sets (bounding = permitted = effective).
_DOCKER_CAPS = (  # moby oci/caps/defaults.go DefaultCapabilities()
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE")
DEFAULT_CAPS = {
    "docker": _DOCKER_CAPS,
    # containerd pkg/oci/spec.go defaultUnixCaps(): the same fourteen; it is
    # what a Kubernetes pod gets under containerd (CRI) unless it asks.
    "containerd": _DOCKER_CAPS,
    "k8s": _DOCKER_CAPS,
    # containers/common pkg/config/default.go DefaultCapabilities (podman):
    # no MKNOD, NET_RAW, AUDIT_WRITE.
    "podman": ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
               "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
               "CAP_SETUID", "CAP_SYS_CHROOT"),
    # cri-o internal/config/capabilities Default(): Kubernetes under CRI-O.
    "crio": ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_SETGID",
             "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_KILL"),
}

PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_KEEPCAPS = 8
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SYS_CAPSET = 126
SYS_SECCOMP = 317
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]


def _prctl(option, a2=0, a3=0, a4=0, a5=0):
    if _libc.prctl(option, a2, a3, a4, a5) == -1:
        err = ctypes.get_errno()
        raise OSError(err, "prctl(%d): %s" % (option, os.strerror(err)))


def _last_cap():
    with open("/proc/sys/kernel/cap_last_cap") as f:
        return int(f.read())


def cap_mask(names):
    mask = 0
    for name in names:
        mask |= 1 << CAP_NUMBERS[name]
    return mask


def _capset(effective, permitted, inheritable):
    head = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)(effective & 0xFFFFFFFF, permitted & 0xFFFFFFFF,
                                 inheritable & 0xFFFFFFFF, effective >> 32, permitted >> 32,
                                 inheritable >> 32)
    if _libc.syscall(ctypes.c_long(SYS_CAPSET), head, data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "capset: %s" % os.strerror(err))


def drop_bounding(keep):
    """runc Caps.ApplyBoundingSet(): every cap outside the set leaves the
    bounding set (no exec can regain it)."""
    for cap in range(_last_cap() + 1):
        if not keep >> cap & 1 and _libc.prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1:
            _prctl(PR_CAPBSET_DROP, cap)


def apply_caps(keep):
    """runc Caps.ApplyCaps(): effective/permitted/inheritable set exactly,
    bounding again, then the ambient set reset (runtimes grant none).  A cap
    this process does not hold itself cannot be granted (capset() would fail
    with EPERM, as runc would): it is left out instead, so that the harness
    also runs where the host withholds one (e.g. CAP_SYS_RESOURCE)."""
    with open("/proc/self/status") as f:
        status = f.read()
    have = int(re.search(r"^CapPrm:\s*([0-9a-f]+)", status, re.M).group(1), 16)
    keep &= have
    drop_bounding(keep)
    _capset(keep, keep, 0)
    try:
        _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError as e:      # kernels before 4.3 have no ambient set
        if e.errno != errno_mod.EINVAL:
            raise


def close_exec_from(first):
    """runc finalizeNamespace(): utils.CloseExecFrom(3) -- nothing the
    runtime itself had open leaks into the container."""
    import fcntl
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd >= first:
            try:
                fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.fcntl(fd, fcntl.F_GETFD) | fcntl.FD_CLOEXEC)
            except OSError:
                pass    # the fd listdir itself used, gone by now


# --- the profile: moby / containers-common evaluation ------------------------

class ProfileError(Exception):
    pass


# runtime.GOARCH -> the arch names profiles use in includes/excludes
# (moby profiles/seccomp goToNative, containers/common libseccomp native name)
_MACHINE_TO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "x86", "i386": "x86",
                    "s390x": "s390x", "ppc64le": "ppc64le", "riscv64": "riscv64",
                    "loongarch64": "loong64"}
# ... and -> the SCMP_ARCH_* name of archMap entries
_ARCH_TO_SCMP = {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64",
                 "x86": "SCMP_ARCH_X86", "s390x": "SCMP_ARCH_S390X",
                 "ppc64le": "SCMP_ARCH_PPC64LE", "riscv64": "SCMP_ARCH_RISCV64",
                 "loong64": "SCMP_ARCH_LOONGARCH64"}


def native_arch():
    machine = platform.machine()
    if machine not in _MACHINE_TO_ARCH:
        raise ProfileError("unsupported machine %r" % machine)
    return _MACHINE_TO_ARCH[machine]


def kernel_version():
    """(kernel, major) of the running kernel, minor and suffixes ignored, as
    moby's kernelGreaterEqualThan() reads uname."""
    m = re.match(r"(\d+)\.(\d+)", platform.release())
    return int(m.group(1)), int(m.group(2))


def _parse_min_kernel(text):
    parts = str(text).split(".")
    if len(parts) != 2:
        raise ProfileError('invalid kernel version %r, expected "<kernel>.<major>"' % text)
    return int(parts[0]), int(parts[1])


def _errno_value(name, ret):
    """containers/common getErrno(): an "errno" name (or number) wins over
    the obsolete numeric "errnoRet"; moby knows only errnoRet."""
    if name:
        if str(name).isdigit():
            return int(name)
        value = getattr(errno_mod, str(name), None)
        if value is None:
            raise ProfileError("unknown errno %s" % name)
        return value
    return ret


def evaluate_profile(profile, bounding, arch=None, kernel=None):
    """The OCI runtime-spec seccomp section a runtime would hand runc for a
    container whose bounding set is `bounding` (a set of CAP_* names):
    {defaultAction, defaultErrnoRet, architectures, flags, syscalls}."""
    arch = arch or native_arch()
    kernel = kernel or kernel_version()
    if profile.get("architectures") and profile.get("archMap"):
        raise ProfileError("both 'architectures' and 'archMap' are specified in the profile")
    out = {"defaultAction": profile.get("defaultAction", ""),
           "defaultErrnoRet": _errno_value(profile.get("defaultErrno"),
                                           profile.get("defaultErrnoRet")),
           "architectures": list(profile.get("architectures") or []),
           "flags": profile.get("flags"),
           "syscalls": []}
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == _ARCH_TO_SCMP.get(arch):
            out["architectures"].append(entry["architecture"])
            out["architectures"].extend(entry.get("subArchitectures") or [])
            break
    for call in profile.get("syscalls") or []:
        names = call.get("names") or []
        if call.get("name"):
            if names:
                raise ProfileError("both 'name' and 'names' are specified in a rule")
            names = [call["name"]]
        exc = call.get("excludes") or {}
        inc = call.get("includes") or {}
        if arch in (exc.get("arches") or []):
            continue
        if any(c in bounding for c in exc.get("caps") or []):
            continue
        if exc.get("minKernel") and kernel >= _parse_min_kernel(exc["minKernel"]):
            continue
        if inc.get("arches") and arch not in inc["arches"]:
            continue
        if any(c not in bounding for c in inc.get("caps") or []):
            continue
        if inc.get("minKernel") and kernel < _parse_min_kernel(inc["minKernel"]):
            continue
        out["syscalls"].append({"names": list(names), "action": call["action"],
                                "errnoRet": _errno_value(call.get("errno"),
                                                         call.get("errnoRet")),
                                "args": list(call.get("args") or [])})
    return out


# --- containerd's profile, published only as Go source -------------------------

class ContainerdGoProfile:
    """containerd's RuntimeDefault (contrib/seccomp/seccomp_default.go,
    DefaultProfile()) rewritten into the moby JSON schema, so one evaluator
    serves all three runtimes.  The Go function builds its list with plain
    composite literals under a few conditions, each of which has a moby
    equivalent:

      `syscalls := []specs.LinuxSyscall{...}`            unconditional rules
      `kernelversion.GreaterEqualThan(... {Kernel: 4, Major: 8})` + `if ok`
                                                         includes.minKernel
      `switch runtime.GOARCH { case "amd64": ... }`      includes.arches
      `default:` of such a switch                        excludes.arches
      `switch c` over Capabilities.Bounding, `case "CAP_X":`
                                                         includes.caps
      `if !admin {`                                      excludes.caps SYS_ADMIN

    Anything else in the function is refused loudly, so that a containerd
    release which changes the shape is noticed rather than misread."""

    _UNIX = {  # golang.org/x/sys/unix constants the profile uses (Linux values)
        "AF_ALG": 38, "AF_VSOCK": 40, "ENOSYS": 38, "EPERM": 1,
        "CLONE_NEWNS": 0x20000, "CLONE_NEWUTS": 0x4000000, "CLONE_NEWIPC": 0x8000000,
        "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
        "CLONE_NEWNET": 0x40000000, "CLONE_NEWCGROUP": 0x2000000,
    }
    _ACTIONS = {"ActAllow": "SCMP_ACT_ALLOW", "ActErrno": "SCMP_ACT_ERRNO",
                "ActKill": "SCMP_ACT_KILL", "ActKillProcess": "SCMP_ACT_KILL_PROCESS",
                "ActKillThread": "SCMP_ACT_KILL_THREAD", "ActTrap": "SCMP_ACT_TRAP",
                "ActTrace": "SCMP_ACT_TRACE", "ActLog": "SCMP_ACT_LOG"}
    _OPS = {"OpNotEqual": "SCMP_CMP_NE", "OpLessThan": "SCMP_CMP_LT",
            "OpLessEqual": "SCMP_CMP_LE", "OpEqualTo": "SCMP_CMP_EQ",
            "OpGreaterEqual": "SCMP_CMP_GE", "OpGreaterThan": "SCMP_CMP_GT",
            "OpMaskedEqual": "SCMP_CMP_MASKED_EQ"}
    # GOARCH -> the arch names moby's includes use
    _GOARCH = {"386": "x86", "mips64p32": "mips64n32", "mips64le": "mipsel64",
               "mips64p32le": "mips3l64n32", "mipsle": "mipsel"}
    _TOKEN = re.compile(r"""
        (?P<lit>specs\.LinuxSyscall\{|\[\]specs\.LinuxSyscall\{)
      | (?P<kv>kernelversion\.KernelVersion\{\s*Kernel:\s*(?P<kk>\d+),\s*Major:\s*(?P<km>\d+)\s*\})
      | (?P<switch>switch\s+(?P<subject>[\w.]+)\s*\{)
      | (?P<case>case\s+(?P<labels>"[^"]*"(?:\s*,\s*"[^"]*")*)\s*:)
      | (?P<default>default\s*:)
      | (?P<notadmin>if\s+!admin\s*\{)
      | (?P<ifok>if\s+ok\s*\{)
      | (?P<open>\{)
      | (?P<close>\})
    """, re.X)

    def __init__(self, source):
        # Comments ("// kernel v6.5, libseccomp v2.5.5") carry no rules; drop
        # them so that the brace matching below sees code only.
        self.source = source = re.sub(r"//[^\n]*", "", source)
        self.vars = {}       # `nosys := uint(unix.ENOSYS)`
        for name, const in re.findall(r"(\w+)\s*:=\s*uint\(unix\.(\w+)\)", source):
            self.vars[name] = self._UNIX[const]

    def _value(self, expr):
        """A Go constant expression of the profile: integer literals and
        unix.* constants joined by |, + or - (`unix.AF_ALG + 1`)."""
        import ast

        def ev(node):
            if isinstance(node, ast.Constant) and isinstance(node.value, int):
                return node.value
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "unix"):
                if node.attr not in self._UNIX:
                    raise ProfileError("containerd source uses unix.%s, unknown here" % node.attr)
                return self._UNIX[node.attr]
            if isinstance(node, ast.BinOp):
                ops = {ast.BitOr: lambda a, b: a | b, ast.Add: lambda a, b: a + b,
                       ast.Sub: lambda a, b: a - b}
                if type(node.op) in ops:
                    return ops[type(node.op)](ev(node.left), ev(node.right))
            raise ProfileError("unsupported expression in containerd source: %s" % expr)
        return ev(ast.parse(expr.strip(), mode="eval").body)

    def _literal(self, text):
        """One specs.LinuxSyscall{...} body -> a moby rule (no conditions yet)."""
        names = re.search(r"Names:\s*\[\]string\{([^}]*)\}", text)
        action = re.search(r"Action:\s*specs\.(\w+)", text)
        if not names or not action:
            raise ProfileError("unrecognised containerd rule: %s" % text.strip()[:200])
        rule = {"names": re.findall(r'"([^"]+)"', names.group(1)),
                "action": self._ACTIONS[action.group(1)]}
        ret = re.search(r"ErrnoRet:\s*&(\w+)", text)
        if ret:
            rule["errnoRet"] = self.vars[ret.group(1)]
        args = []
        for body in re.findall(r"\{\s*(Index:[^{}]*)\}", text):
            fields = dict(re.findall(r"(\w+):\s*([^,\n]+),", body + ","))
            args.append({"index": int(fields["Index"], 0),
                         "value": self._value(fields["Value"]),
                         "valueTwo": self._value(fields.get("ValueTwo", "0")),
                         "op": self._OPS[fields["Op"].strip().split(".")[-1]]})
        if args:
            rule["args"] = args
        return rule

    def _matching_brace(self, pos):
        """Index just past the brace closing the one that ends at pos-1."""
        depth = 1
        while depth:
            m = re.compile(r"[{}]").search(self.source, pos)
            if m is None:
                raise ProfileError("unbalanced braces in containerd source")
            depth += 1 if m.group() == "{" else -1
            pos = m.end()
        return pos

    def to_moby(self):
        src = self.source
        start = src.find("func DefaultProfile(")
        if start < 0:
            raise ProfileError("no DefaultProfile() in the containerd source")
        body_start = src.index("{", src.index(")", start)) + 1
        end = self._matching_brace(body_start)
        if 'DefaultAction: specs.ActErrno' not in src[body_start:end]:
            raise ProfileError("containerd DefaultProfile(): unexpected default action")
        rules = []
        frames = []            # one per open brace: its kind and condition
        min_kernel = None
        pos = body_start
        while pos < end - 1:
            m = self._TOKEN.search(src, pos, end - 1)
            if m is None:
                break
            kind = m.lastgroup
            if kind == "lit":
                close = self._matching_brace(m.end())
                if m.group("lit").startswith("[]"):
                    # the initial list: each element is one rule
                    inner = src[m.end():close - 1]
                    i = 0
                    while True:
                        j = inner.find("{", i)
                        if j < 0:
                            break
                        k = self._matching_brace_in(inner, j + 1)
                        rules.append(self._with_conditions(self._literal(inner[j:k]), frames))
                        i = k
                else:
                    rules.append(self._with_conditions(self._literal(src[m.end():close - 1]),
                                                       frames))
                pos = close
                continue
            if kind == "kv":
                min_kernel = "%s.%s" % (m.group("kk"), m.group("km"))
            elif kind == "switch":
                subj = m.group("subject")
                if subj == "runtime.GOARCH":
                    frames.append({"kind": "arch", "labels": None, "all": set(), "rules": []})
                elif subj == "c":
                    frames.append({"kind": "cap", "labels": None})
                else:
                    raise ProfileError("unexpected switch on %s in containerd source" % subj)
            elif kind == "case":
                labels = re.findall(r'"([^"]*)"', m.group("labels"))
                frame = frames[-1]
                if frame["kind"] == "arch":
                    labels = [self._GOARCH.get(a, a) for a in labels]
                    frame["all"].update(labels)
                frame["labels"] = labels
            elif kind == "default":
                frames[-1]["labels"] = "default"
            elif kind == "notadmin":
                frames.append({"kind": "notadmin"})
            elif kind == "ifok":
                if min_kernel is None:
                    raise ProfileError("`if ok` without a kernel version in containerd source")
                frames.append({"kind": "kernel", "min": min_kernel})
            elif kind == "open":
                frames.append({"kind": "block"})
            elif kind == "close":
                frame = frames.pop()
                if frame["kind"] == "arch":
                    for rule in frame["rules"]:   # default: every arch not named
                        rule.setdefault("excludes", {}).setdefault(
                            "arches", []).extend(sorted(frame["all"]))
            pos = m.end()
        return {"defaultAction": "SCMP_ACT_ERRNO", "archMap": self._arch_map(), "syscalls": rules}

    @staticmethod
    def _matching_brace_in(text, pos):
        depth = 1
        while depth:
            c = text[pos]
            depth += 1 if c == "{" else -1 if c == "}" else 0
            pos += 1
        return pos

    def _with_conditions(self, rule, frames):
        for frame in frames:
            if frame["kind"] == "kernel":
                rule.setdefault("includes", {})["minKernel"] = frame["min"]
            elif frame["kind"] == "notadmin":
                rule.setdefault("excludes", {}).setdefault("caps", []).append("CAP_SYS_ADMIN")
            elif frame["kind"] == "cap":
                if frame["labels"] in (None, "default"):
                    raise ProfileError("containerd rule outside a capability case")
                rule.setdefault("includes", {})["caps"] = list(frame["labels"])
            elif frame["kind"] == "arch":
                if frame["labels"] == "default":
                    frame["rules"].append(rule)
                elif frame["labels"] is None:
                    raise ProfileError("containerd rule outside an arch case")
                else:
                    rule.setdefault("includes", {})["arches"] = list(frame["labels"])
        return rule

    def _arch_map(self):
        """arches(): the GOARCH -> []specs.Arch switch, as an archMap."""
        m = re.search(r"func arches\(\)[^{]*\{(.*?)\n\}", self.source, re.S)
        out = []
        for case, archs in re.findall(r'case "([^"]+)":\s*return \[\]specs\.Arch\{([^}]*)\}',
                                      m.group(1) if m else ""):
            consts = re.findall(r"specs\.Arch(\w+)", archs)
            names = ["SCMP_ARCH_" + c.upper() for c in consts]
            main = _ARCH_TO_SCMP.get(self._GOARCH.get(case, case))
            if main in names:
                out.append({"architecture": main,
                            "subArchitectures": [n for n in names if n != main]})
        return out


# --- the published profiles, from Debian's archive ---------------------------------

# Each runtime's default profile as Debian packages it: the file itself,
# unmodified (byte-identical to the upstream tag), inside a small -dev
# package.  Bookworm's own packages are too old to refuse io_uring (docker.io
# 20.10 and containerd 1.6/1.7 allow it: moby blocked it in 25.0, containerd in
# 2.0), so the packages come from newer suites, fetched with a private apt
# state directory -- the machine's own apt configuration is not touched.
PUBLISHED = {
    # name: (suite, package, path inside the package, default --caps)
    "docker": ("trixie", "golang-github-docker-docker-dev",
               "usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json",
               "docker"),
    "podman": ("trixie", "golang-github-containers-common",
               "usr/share/containers/seccomp.json", "podman"),
    # CRI-O uses containers/common's profile with its own, smaller cap set.
    "crio": ("trixie", "golang-github-containers-common",
             "usr/share/containers/seccomp.json", "crio"),
    # Kubernetes RuntimeDefault under containerd: Go source only (containerd
    # >= 2.0, which refuses io_uring, is only in unstable so far).
    "containerd": ("sid", "golang-github-containerd-containerd-dev",
                   "usr/share/gocode/src/github.com/containerd/containerd/v2/contrib/"
                   "seccomp/seccomp_default.go", "k8s"),
}
PUBLISHED["k8s"] = PUBLISHED["containerd"]
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def cache_dir():
    """Where fetched profiles are kept: $PYSENTRY_PROFILE_CACHE, else
    $XDG_CACHE_HOME/pysentry/container-profiles (~/.cache/...).  Never the
    checkout: the files are other projects' and are not committed."""
    base = os.environ.get("PYSENTRY_PROFILE_CACHE")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        base = os.path.join(xdg, "pysentry", "container-profiles")
    return base


def published_profile(name):
    """The path of runtime `name`'s published default profile, downloaded
    into the cache on first use: `apt-get update` against one suite into a
    private state directory (signed by Debian's archive keyring, as apt
    checks any suite), `apt-get download` of one package, and that one file
    taken out of it.  A PROVENANCE file beside it names the .deb (package and
    version) and the suite."""
    import fcntl
    import subprocess
    suite, package, inner, _ = PUBLISHED[name]
    root = os.path.join(cache_dir(), suite)
    target = os.path.join(root, "root", inner)
    if os.path.exists(target):
        return target
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(target):
            return target
        for sub in ("lists/partial", "cache/archives/partial", "debs"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        sources = os.path.join(root, "sources.list")
        with open(sources, "w") as f:
            f.write("deb [signed-by=%s] %s %s main\n" % (DEBIAN_KEYRING, DEBIAN_MIRROR, suite))
        opts = ["-o", "Dir::Etc::SourceList=" + sources, "-o", "Dir::Etc::SourceParts=/dev/null",
                "-o", "Dir::State::Lists=" + os.path.join(root, "lists"),
                "-o", "Dir::Cache=" + os.path.join(root, "cache"),
                "-o", "APT::Sandbox::User=root", "-o", "Debug::NoLocking=1"]
        how = ("fetch it by hand: apt-get download %s (Debian %s), then "
               "dpkg-deb -x the .deb into %s; or pass --profile PATH" %
               (package, suite, os.path.join(root, "root")))
        steps = [["apt-get", "-q", *opts, "update"],
                 ["apt-get", "-q", *opts, "download", package]]
        debs = os.path.join(root, "debs")
        for cmd in steps:
            proc = subprocess.run(cmd, cwd=debs, capture_output=True, text=True)
            if proc.returncode != 0:
                raise ProfileError("cannot fetch the %s profile (%s failed: %s); %s" % (
                    name, " ".join(cmd[:2] + cmd[-1:]), proc.stderr.strip()[-400:], how))
        deb = sorted(f for f in os.listdir(debs) if f.startswith(package + "_"))[-1]
        # Only the one file is kept (dpkg-deb's data tar, one member).
        os.makedirs(os.path.join(root, "root"), exist_ok=True)
        proc = subprocess.run("dpkg-deb --fsys-tarfile %s | tar -x -C %s ./%s" % (
            shlex.quote(os.path.join(debs, deb)), shlex.quote(os.path.join(root, "root")),
            shlex.quote(inner)), shell=True, capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.exists(target):
            raise ProfileError("%s has no %s (%s); %s" % (deb, inner, proc.stderr.strip(), how))
        with open(os.path.join(root, "PROVENANCE"), "a") as f:
            f.write("%s: Debian %s, %s, /%s\n" % (name, suite, deb, inner))
        # The package and the suite's index (some 20 MB) are not needed again.
        for sub in ("debs", "lists", "cache"):
            shutil.rmtree(os.path.join(root, sub), ignore_errors=True)
    return target


def resolve_profile(name_or_path):
    """--profile: a runtime name (see PUBLISHED) or a file path."""
    if name_or_path in PUBLISHED and not os.path.exists(name_or_path):
        return published_profile(name_or_path)
    return name_or_path


def load_profile(path):
    with open(path) as f:
        text = f.read()
    if path.endswith(".go"):
        return ContainerdGoProfile(text).to_moby()
    return json.loads(text)


# --- libseccomp (ctypes) and runc's filter --------------------------------------

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_KILL_THREAD = 0x00000000
SCMP_ACT_TRAP = 0x00030000
SCMP_ACT_ERRNO = 0x00050000
SCMP_ACT_TRACE = 0x7FF00000
SCMP_ACT_LOG = 0x7FFC0000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_FLTATR_CTL_NNP = 3
SCMP_FLTATR_CTL_OPTIMIZE = 8
__NR_SCMP_ERROR = -1
_CMP = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
        "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
_SCMP_ARCH_NAMES = {"SCMP_ARCH_X86_64": b"x86_64", "SCMP_ARCH_X86": b"x86",
                    "SCMP_ARCH_X32": b"x32", "SCMP_ARCH_AARCH64": b"aarch64",
                    "SCMP_ARCH_ARM": b"arm", "SCMP_ARCH_S390X": b"s390x",
                    "SCMP_ARCH_S390": b"s390", "SCMP_ARCH_PPC64LE": b"ppc64le",
                    "SCMP_ARCH_RISCV64": b"riscv64", "SCMP_ARCH_LOONGARCH64": b"loongarch64"}
# AUDIT_ARCH_* (include/uapi/linux/audit.h) for the -ENOSYS stub
AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
X32_SYSCALL_BIT = 0x40000000


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def _libseccomp():
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def _action(name, errno_ret):
    """runc getAction(): ERRNO and TRACE default to EPERM when no errnoRet."""
    if name == "SCMP_ACT_ERRNO":
        return SCMP_ACT_ERRNO | ((errno_mod.EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    if name == "SCMP_ACT_TRACE":
        return SCMP_ACT_TRACE | ((errno_mod.EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    table = {"SCMP_ACT_KILL": SCMP_ACT_KILL_THREAD, "SCMP_ACT_KILL_THREAD": SCMP_ACT_KILL_THREAD,
             "SCMP_ACT_KILL_PROCESS": SCMP_ACT_KILL_PROCESS, "SCMP_ACT_TRAP": SCMP_ACT_TRAP,
             "SCMP_ACT_ALLOW": SCMP_ACT_ALLOW, "SCMP_ACT_LOG": SCMP_ACT_LOG}
    if name not in table:
        raise ProfileError("action %s is not supported here" % name)
    return table[name]


def _check(ret, what):
    if ret < 0:
        raise OSError(-ret, "%s: %s" % (what, os.strerror(-ret)))
    return ret


def build_bpf(spec):
    """The classic-BPF program runc would load for this runtime-spec seccomp
    section: libseccomp's filter with patchbpf's -ENOSYS stub in front."""
    lib = _libseccomp()
    default = _action(spec["defaultAction"], spec["defaultErrnoRet"])
    ctx = lib.seccomp_init(default)
    if not ctx:
        raise ProfileError("seccomp_init failed")
    try:
        arch_tokens = {}
        for name in spec["architectures"]:
            if name not in _SCMP_ARCH_NAMES:
                raise ProfileError("unknown architecture %s" % name)
            token = lib.seccomp_arch_resolve_name(_SCMP_ARCH_NAMES[name])
            arch_tokens[name] = token
            ret = lib.seccomp_arch_add(ctx, token)
            if ret not in (0, -errno_mod.EEXIST):     # the native arch is already in
                _check(ret, "seccomp_arch_add(%s)" % name)
        _check(lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "CTL_NNP")
        if sum(len(c["names"]) for c in spec["syscalls"]) > 32:
            # runc: binary-tree optimisation for long rule sets (speed only)
            lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)
        for call in spec["syscalls"]:
            act = _action(call["action"], call.get("errnoRet"))
            for name in call["names"]:
                if act == default:
                    continue            # runc matchCall(): redundant, skipped
                nr = lib.seccomp_syscall_resolve_name(name.encode())
                if nr == __NR_SCMP_ERROR:
                    continue            # unknown to libseccomp: runc ignores it
                _add_rule(lib, ctx, nr, act, call.get("args") or [], name)
        stub = enosys_stub(lib, spec, arch_tokens) if default not in (
            SCMP_ACT_ALLOW, SCMP_ACT_LOG) and default & 0xFFFF0000 != SCMP_ACT_TRACE else b""
        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            _check(lib.seccomp_export_bpf(ctx, fd), "seccomp_export_bpf")
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(fd)
        return stub + b"".join(chunks)
    finally:
        lib.seccomp_release(ctx)


def _add_rule(lib, ctx, nr, act, args, name):
    conds = []
    for a in args:
        op = _CMP[a["op"]]
        conds.append(_ArgCmp(a["index"], op, a["value"] & (2**64 - 1),
                             a.get("valueTwo", 0) & (2**64 - 1)))
    indexes = [a["index"] for a in args]
    if len(set(indexes)) != len(indexes):
        groups = [[c] for c in conds]   # runc: one rule per condition, OR'd
    else:
        groups = [conds]
    for group in groups:
        arr = (_ArgCmp * max(1, len(group)))(*group)
        _check(lib.seccomp_rule_add_array(ctx, act, nr, len(group), arr),
               "seccomp_rule_add(%s)" % name)


def enosys_stub(lib, spec, arch_tokens):
    """runc patchbpf generateEnosysStub(): for each architecture of the filter,
    a syscall number above the largest one any rule names gets ENOSYS, so a
    program probing a syscall newer than the profile falls back as on an old
    kernel instead of failing with EPERM.  The x86-64 section tells x32 calls
    (nr | X32_SYSCALL_BIT) from native ones."""
    names = [n for c in spec["syscalls"] for n in c["names"]]

    def largest(arch_name):
        token = arch_tokens.get(arch_name)
        if token is None:
            return None
        best = 0
        for n in names:
            nr = lib.seccomp_syscall_resolve_name_arch(token, n.encode())
            best = max(best, nr)
        return best or None

    x64, x32, i386 = largest("SCMP_ARCH_X86_64"), largest("SCMP_ARCH_X32"), largest("SCMP_ARCH_X86")
    if native_arch() != "amd64":
        raise ProfileError("the -ENOSYS stub is implemented for x86-64 hosts only")
    LD_W_ABS, JEQ, JGT, JSET, JA, RET = 0x20, 0x15, 0x25, 0x45, 0x05, 0x06
    ENOSYS_RET = SCMP_ACT_ERRNO | errno_mod.ENOSYS
    # Labels resolved by hand; every jump is forward and short.
    prog = []

    def emit(code, k=0, jt=0, jf=0):
        prog.append([code, jt, jf, k])

    # 0: load arch
    emit(LD_W_ABS, 4)
    emit(JEQ, AUDIT_ARCH_X86_64, "x64", 0)
    emit(JEQ, AUDIT_ARCH_I386, "i386", 0)
    emit(JA, "filter")
    labels = {}
    labels["x64"] = len(prog)
    emit(LD_W_ABS, 0)
    emit(JSET, X32_SYSCALL_BIT, "x32", 0)
    if x64 is not None:
        emit(JGT, x64, "enosys", 0)
    emit(JA, "filter")
    labels["x32"] = len(prog)
    if x32 is not None:
        emit(JGT, x32, "enosys", 0)
    emit(JA, "filter")
    labels["i386"] = len(prog)
    emit(LD_W_ABS, 0)
    if i386 is not None:
        emit(JGT, i386, "enosys", 0)
    emit(JA, "filter")
    labels["enosys"] = len(prog)
    emit(RET, ENOSYS_RET)
    labels["filter"] = len(prog)
    out = []
    for pc, (code, jt, jf, k) in enumerate(prog):
        rel = (lambda t: labels[t] - pc - 1 if isinstance(t, str) else t)
        if code == JA:
            k, jt, jf = rel(k), 0, 0
        out.append(struct.pack("<HBBI", code, rel(jt), rel(jf), k))
    return b"".join(out)


def load_bpf(program, flags):
    """seccomp(SECCOMP_SET_MODE_FILTER) with runc's flags; a kernel without
    SPEC_ALLOW (before 4.17) gets the filter without it, as runc checks
    FlagSupported() first."""
    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    for f in (flags, 0) if flags else (0,):
        if _libc.syscall(ctypes.c_long(SYS_SECCOMP), ctypes.c_long(SECCOMP_SET_MODE_FILTER),
                         ctypes.c_long(f), ctypes.byref(fprog)) == 0:
            return
        err = ctypes.get_errno()
        if err != errno_mod.EINVAL:
            break
    raise OSError(err, "seccomp(SET_MODE_FILTER): %s" % os.strerror(err))


# --- the launcher ---------------------------------------------------------------

def _parse_user(text):
    uid, _, gid = text.partition(":")
    return int(uid), int(gid) if gid else int(uid)


def _set_user(uid, gid):
    """runc setupUser() between SetKeepCaps and ClearKeepCaps: supplementary
    groups, gid, uid.  KEEPCAPS keeps the permitted set across setuid so that
    ApplyCaps can still set it (execve then recomputes it for a non-root uid)."""
    _prctl(PR_SET_KEEPCAPS, 1)
    os.setgroups([gid])
    os.setgid(gid)
    os.setuid(uid)
    _prctl(PR_SET_KEEPCAPS, 0)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Run CMD under a container runtime's default seccomp profile and "
                    "capability set (no container engine needed).")
    ap.add_argument("--profile", required=True,
                    help="a runtime name (%s: its published default, fetched from Debian "
                         "into %s on first use) or a file: moby default.json, "
                         "containers-common seccomp.json, containerd seccomp_default.go"
                         % (", ".join(sorted(PUBLISHED)), cache_dir()))
    ap.add_argument("--caps", choices=sorted(DEFAULT_CAPS),
                    help="the runtime whose default capability set the container gets "
                         "(default: the profile's runtime, else docker)")
    ap.add_argument("--cap-add", action="append", default=[], metavar="CAP")
    ap.add_argument("--cap-drop", action="append", default=[], metavar="CAP")
    ap.add_argument("--user", metavar="UID[:GID]", help="run as this user (like --user)")
    ap.add_argument("--no-new-privileges", action="store_true",
                    help="like --security-opt no-new-privileges (changes runc's order)")
    ap.add_argument("--dump", action="store_true",
                    help="print the evaluated runtime-spec seccomp section as JSON and exit")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd and not args.dump:
        ap.error("no command given")

    def capname(c):
        c = c.upper()
        return c if c.startswith("CAP_") else "CAP_" + c
    runtime = args.caps or (PUBLISHED[args.profile][3] if args.profile in PUBLISHED
                            else "docker")
    caps = set(DEFAULT_CAPS[runtime]) | {capname(c) for c in args.cap_add}
    caps -= {capname(c) for c in args.cap_drop}
    unknown = caps - set(CAP_NUMBERS)
    try:
        if unknown:
            raise ProfileError("unknown capabilities: %s" % ", ".join(sorted(unknown)))
        spec = evaluate_profile(load_profile(resolve_profile(args.profile)), caps)
        if args.dump:
            json.dump(spec, sys.stdout, indent=1)
            sys.stdout.write("\n")
            return 0
        program = build_bpf(spec)
        flags = SECCOMP_FILTER_FLAG_SPEC_ALLOW if spec.get("flags") is None else 0
        keep = cap_mask(caps)
        if args.no_new_privileges:
            _prctl(PR_SET_NO_NEW_PRIVS, 1)
        else:
            load_bpf(program, flags)
        close_exec_from(3)
        drop_bounding(keep)
        if args.user:
            _set_user(*_parse_user(args.user))
        apply_caps(keep)
        if args.no_new_privileges:
            load_bpf(program, flags)
    except (OSError, ProfileError, ValueError, KeyError) as e:
        print("container_sandbox: %s" % e, file=sys.stderr)
        return 125
    try:
        os.execvp(cmd[0], cmd)
    except OSError as e:
        # docker run: 127 when the command is not found, 126 when it cannot run
        print("container_sandbox: exec %s: %s" % (cmd[0], e.strerror), file=sys.stderr)
        return 127 if e.errno == errno_mod.ENOENT else 126


if __name__ == "__main__":
    sys.exit(main())
