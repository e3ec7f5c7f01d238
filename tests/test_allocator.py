"""The `linvit` command keeps freed memory for the next layers, where the C library is glibc."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting applies to glibc's malloc")

# Twelve "layers" of a long clip's model: each allocates an 80 MiB projection and a 40 MiB intermediate (both
# above glibc's largest mmap threshold, 32 MiB), updates the hidden state and frees them. Printed: the page
# faults of the last six layers, which a model pays every layer when each of them maps its tensors afresh. (Kept
# memory takes a few layers to settle: which freed blocks fit the next requests varies from run to run.)
_LAYERS = """
import resource, sys, torch
from linvit_cli import allocator
print(allocator.keep_freed_memory(), file=sys.stderr)
x = torch.ones(4 << 20)
for layer in range(12):
    if layer == 6:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    projection = torch.ones(20 << 20) * 2.0
    intermediate = projection[: 10 << 20] + 1.0
    x = x + intermediate[: 4 << 20]
    del projection, intermediate
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults_of_six_layers(**env: str) -> int:
    done = subprocess.run([sys.executable, "-c", _LAYERS], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@glibc
def test_the_layers_of_a_long_clip_reuse_the_pages_freed_before_them():
    pages = 6 * (120 << 20) // os.sysconf("SC_PAGE_SIZE")  # six layers' new tensors
    assert _faults_of_six_layers(LINVIT_MALLOC="system") > pages  # glibc's defaults: every page again
    assert _faults_of_six_layers() < pages // 5


@glibc
def test_env_says_how_memory_is_allocated(run_cli, monkeypatch):
    monkeypatch.delenv("LINVIT_MALLOC", raising=False)
    done = run_cli("env", "--json")
    assert done.code == 0, done.err
    assert "freed memory kept for reuse" in json.loads(done.out)["choices"]["memory allocator"]


def test_an_unknown_malloc_setting_is_one_usage_error(run_cli, monkeypatch):
    monkeypatch.setenv("LINVIT_MALLOC", "jemalloc")
    done = run_cli("env")
    assert done.code == 2
    assert done.err.strip() == "Error: LINVIT_MALLOC='jemalloc' is not one of keep, system"
