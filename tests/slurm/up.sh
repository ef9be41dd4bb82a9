#!/usr/bin/env bash
# Starts a one-node Slurm cluster (munged, slurmctld, slurmd) and an sshd on
# 127.0.0.1:$SSH_PORT for the Slurm-over-SSH tests, as root, on a Debian machine where the
# packages are installed (.ci/test installs them). Writes everything under $1 (a fresh
# directory): the daemons' PID files, the test user's SSH key, and env.sh with the
# FLOWCFD_TEST_SLURM_* variables the tests read. tests/slurm/down.sh $1 stops it all.
set -euo pipefail
DIR="$1"
SSH_PORT="${SSH_PORT:-2222}"
HPC_USER="${HPC_USER:-flowcfd-hpc}"
mkdir -p "$DIR"
chmod 755 "$DIR"
HOST=$(hostname -s)

# munge: a fresh key, the daemon as the munge user.
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
chown -R munge: /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key
runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
cp /run/munge/munged.pid "$DIR/munged.pid"

# Slurm: one node with this machine's cores; no accounting daemon.
CPUS=$(nproc)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
chown slurm: /var/spool/slurmctld /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=flowcfd-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
# sacct -c opens the completion log for appending (its plugin init), so users need write access.
touch "$DIR/jobcomp.txt" && chown slurm: "$DIR/jobcomp.txt" && chmod 666 "$DIR/jobcomp.txt"
/usr/sbin/slurmctld
/usr/sbin/slurmd
for _ in $(seq 60); do
  sinfo -h -o %T 2>/dev/null | grep -qE '^idle' && break
  sleep 0.5
done
sinfo -h -o "%P %T %c" | grep -q idle || { echo "Slurm did not come up:"; tail -20 "$DIR"/slurm*.log; exit 1; }

# The cluster account FlowCFD signs in as, with a fresh ed25519 key.
id "$HPC_USER" >/dev/null 2>&1 || useradd -m -s /bin/bash "$HPC_USER"
usermod -p '*' "$HPC_USER"
HOME_DIR=$(getent passwd "$HPC_USER" | cut -d: -f6)
rm -f "$DIR/id_ed25519" "$DIR/id_ed25519.pub"
ssh-keygen -q -t ed25519 -N '' -f "$DIR/id_ed25519" -C flowcfd-test
install -d -m 700 -o "$HPC_USER" -g "$HPC_USER" "$HOME_DIR/.ssh"
install -m 600 -o "$HPC_USER" -g "$HPC_USER" "$DIR/id_ed25519.pub" "$HOME_DIR/.ssh/authorized_keys"

# sshd on loopback with its own host key and config.
rm -f "$DIR/ssh_host_ed25519_key" "$DIR/ssh_host_ed25519_key.pub"
ssh-keygen -q -t ed25519 -N "" -f "$DIR/ssh_host_ed25519_key"
mkdir -p /run/sshd
cat > "$DIR/sshd_config" <<CONF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $DIR/ssh_host_ed25519_key
PidFile $DIR/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
Subsystem sftp internal-sftp
AllowUsers $HPC_USER
CONF
/usr/sbin/sshd -f "$DIR/sshd_config" -E "$DIR/sshd.log"
for _ in $(seq 50); do [ -s "$DIR/sshd.pid" ] && break; sleep 0.1; done

# Environment Modules (Debian's environment-modules): an openfoam/1912 modulefile, as a
# campus cluster has, that points WM_PROJECT_DIR at its own view of Debian's OpenFOAM
# ($DIR/openfoam-v1912, whose etc/ is the package's). The Slurm tests' preamble loads it
# with `module load openfoam/1912`, and the runner's record of where it found OpenFOAM
# names that directory and the loaded module, which only the preamble can have set.
mkdir -p "$DIR/modulefiles/openfoam" "$DIR/openfoam-v1912"
ln -sfn /usr/share/openfoam/etc "$DIR/openfoam-v1912/etc"
cat > "$DIR/modulefiles/openfoam/1912" <<MOD
#%Module1.0
module-whatis "OpenFOAM v1912 (ESI; Debian's openfoam package), for FlowCFD's Slurm tests"
conflict openfoam
setenv WM_PROJECT OpenFOAM
setenv WM_PROJECT_VERSION v1912
setenv WM_PROJECT_DIR $DIR/openfoam-v1912
MOD
chmod -R a+rX "$DIR/modulefiles" "$DIR/openfoam-v1912"

cat > "$DIR/env.sh" <<ENV
export FLOWCFD_TEST_SLURM_HOST=127.0.0.1
export FLOWCFD_TEST_SLURM_PORT=$SSH_PORT
export FLOWCFD_TEST_SLURM_USER=$HPC_USER
export FLOWCFD_TEST_SLURM_KEY=$DIR/id_ed25519
export FLOWCFD_TEST_SLURM_HOST_KEY=$DIR/ssh_host_ed25519_key.pub
export FLOWCFD_TEST_SLURM_MODULES=$DIR/modulefiles
ENV
echo "Slurm and sshd are up (state in $DIR)"
