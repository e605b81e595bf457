"""Ctrl-C reaches the trap loop wherever the signal lands.

The Sentry ends on SIGINT (KeyboardInterrupt in the main thread; the
program dies with it through PTRACE_O_EXITKILL).  CPython runs the handler
only in the main thread, between bytecodes; the main thread spends its
time blocked in waitpid(2) inside C (platform/native/trap.c), which returns
EINTR only if the signal interrupts that very call.  A SIGINT that arrives
just before the call is entered, or that the kernel hands to another
thread, leaves the handler pending while waitpid sleeps until the program's
next stop -- forever, for a program that sleeps.

So the signal's arrival is also written to a wakeup pipe (Python's
signal.set_wakeup_fd), and a small thread that reads it interrupts the
main thread with a signal whose handler does nothing (SIGURG, which Python
installs without SA_RESTART: the waitpid fails with EINTR and Python then
runs the pending SIGINT handler) every 20 ms until the main thread says it
has seen the interrupt.
"""
import os
import signal
import threading

KICK = signal.SIGURG
_ENDING = (signal.SIGINT,)


def install():
    """Start the kicker; returns an Event to set once KeyboardInterrupt was
    caught (or None where it cannot run: not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    r, w = os.pipe()                 # O_CLOEXEC: the program never sees them
    os.set_blocking(w, False)
    signal.signal(KICK, lambda *_: None)
    signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    main = threading.main_thread().ident
    seen = threading.Event()

    def kicker():
        # Never the thread a SIGINT is handed to: the main thread (or
        # another) gets it and writes the pipe.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, KICK})
        while True:
            try:
                data = os.read(r, 64)
            except OSError:
                return
            if not data:
                return
            if any(b in _ENDING for b in data):
                while not seen.wait(0.02):
                    try:
                        signal.pthread_kill(main, KICK)
                    except (ProcessLookupError, OSError):
                        return

    threading.Thread(target=kicker, name="pysentry-sigint", daemon=True).start()
    return seen
