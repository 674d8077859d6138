"""Ignore every catchable signal, then never return."""
import signal
import time

for name in ("SIGALRM", "SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGXCPU"):
    signal.signal(getattr(signal, name), signal.SIG_IGN)


def zero_pad(X, pad):
    while True:
        time.sleep(0.01)
