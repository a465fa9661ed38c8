#!/usr/bin/env bash
# A throw-away single-node Slurm on this machine, for tests/test_cluster_slurm.py.
#
#   scripts/cluster/slurm.sh start   # install the packages if missing, write the configs, start the daemons
#   scripts/cluster/slurm.sh env     # print `export SLURM_CONF=...` for the commands (sbatch, squeue, sacct)
#   scripts/cluster/slurm.sh stop    # stop every daemon it started (slurmd, slurmctld, slurmdbd, MariaDB, munged)
#
# Needs root and Debian's packages (slurm-wlm, munge, and slurmdbd with mariadb-server for
# the accounting that `sacct` reads). Everything it writes lives under $STATE (default
# /tmp/collectsim-slurm): configs, munge key, spool and state folders, logs, the MariaDB
# data folder. Nothing under /etc is changed, so an existing Slurm setup is left alone;
# the commands find this cluster through SLURM_CONF. One node (this host, every core), one
# partition `debug`.
set -euo pipefail

STATE=${COLLECTSIM_SLURM_STATE:-/tmp/collectsim-slurm}
HOST=$(hostname -s)
CONF=$STATE/etc/slurm.conf
DB_PORT=${COLLECTSIM_SLURM_DB_PORT:-3399}
export SLURM_CONF=$CONF

log() { echo "slurm.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

install_packages() {
    local missing=()
    for cmd in slurmctld slurmd slurmdbd sbatch munged mariadbd; do
        command -v "$cmd" >/dev/null || missing+=("$cmd")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}; run as root to apt-get install them"
    log "installing slurm-wlm, slurmdbd, munge, mariadb-server (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends slurm-wlm slurmdbd munge mariadb-server mariadb-client >/dev/null
}

write_configs() {
    mkdir -p "$STATE"/{etc,munge,log,run,ctld,spool,db}
    chmod 700 "$STATE/munge"
    local cpus mem_mb
    cpus=$(nproc)
    mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
    cat >"$CONF" <<EOF
# Written by scripts/cluster/slurm.sh: one node ($HOST), one partition.
ClusterName=collectsim
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6917
SlurmdPort=6918
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SchedulerType=sched/backfill
# Accounting through slurmdbd, so that sacct (which submitit polls) knows every job's state.
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6919
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=$HOST CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
    cat >"$STATE/etc/slurmdbd.conf" <<EOF
# Written by scripts/cluster/slurm.sh
AuthType=auth/munge
DbdHost=localhost
DbdPort=6919
SlurmUser=root
PidFile=$STATE/run/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=root
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$STATE/etc/slurmdbd.conf"
    if [ ! -s "$STATE/munge/munge.key" ]; then
        dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
        chmod 400 "$STATE/munge/munge.key"
    fi
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local secs=$1 what=$2
    shift 2
    for _ in $(seq $((secs * 4))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    die "$what did not come up in ${secs} s (logs in $STATE/log/)"
}

start() {
    install_packages
    write_configs
    if ! pidof_file munged; then
        if munge -n </dev/null >/dev/null 2>&1; then
            die "a munged not started by this script is running (stop it first)"
        fi
        mkdir -p /run/munge
        munged --force --key-file="$STATE/munge/munge.key" \
            --pid-file="$STATE/run/munged.pid" --log-file="$STATE/log/munged.log" \
            --seed-file="$STATE/munge/munged.seed"
        wait_for 10 munged munge -n
    fi
    if [ ! -d "$STATE/db/mysql" ]; then
        mariadb-install-db --user=root --datadir="$STATE/db" --auth-root-authentication-method=normal \
            >"$STATE/log/mariadb-install.log" 2>&1 || die "mariadb-install-db failed (see $STATE/log/mariadb-install.log)"
    fi
    if ! mariadb-admin --protocol=tcp -h127.0.0.1 -P"$DB_PORT" -uroot ping >/dev/null 2>&1; then
        (mariadbd --user=root --datadir="$STATE/db" --port="$DB_PORT" --bind-address=127.0.0.1 \
            --socket="$STATE/run/mysqld.sock" --pid-file="$STATE/run/mariadbd.pid" \
            --log-error="$STATE/log/mariadbd.log" --skip-grant-tables=0 </dev/null >/dev/null 2>&1 &)
        wait_for 30 MariaDB mariadb-admin --protocol=tcp -h127.0.0.1 -P"$DB_PORT" -uroot ping
    fi
    if ! pidof_file slurmdbd; then
        slurmdbd
        wait_for 30 slurmdbd sacctmgr -i list cluster
    fi
    sacctmgr -i list cluster -n format=cluster | grep -qw collectsim || sacctmgr -i add cluster collectsim >/dev/null
    if ! pidof_file slurmctld; then
        slurmctld
        wait_for 30 slurmctld scontrol ping
    fi
    if ! pidof_file slurmd; then
        slurmd
    fi
    wait_for 30 "node $HOST" bash -c "sinfo -h -N -o %T | grep -Eq '^(idle|mixed|allocated)'"
    log "up: $(sinfo -h -o '%P %D node(s) %c CPUs %T'); export SLURM_CONF=$CONF"
}

pidof_file() {  # whether the daemon named $1 runs, from its pid file
    local f=$STATE/run/$1.pid
    [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

stop_one() {  # stop_one NAME: TERM the pid in its pid file, wait, then KILL
    local f=$STATE/run/$1.pid pid
    [ -s "$f" ] || return 0
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

stop() {
    [ -d "$STATE" ] || return 0
    if pidof_file slurmctld; then
        scancel --full --user=root 2>/dev/null || true   # no job may outlive the cluster
    fi
    for d in slurmd slurmctld slurmdbd mariadbd munged; do stop_one "$d"; done
    log "stopped (state and logs kept in $STATE)"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    install) install_packages ;;
    *) echo "usage: $0 start|stop|env|install" >&2; exit 2 ;;
esac
