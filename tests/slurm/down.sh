#!/usr/bin/env bash
# Stops what tests/slurm/up.sh DIR started, by PID, and cancels any test jobs left.
DIR="$1"
scancel --user="${HPC_USER:-flowcfd-hpc}" 2>/dev/null || true
for d in sshd slurmd slurmctld munged; do
  f="$DIR/$d.pid"
  [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
done
sleep 1
for d in sshd slurmd slurmctld munged; do
  f="$DIR/$d.pid"
  [ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
done
exit 0
