# Shared by scripts/peers/openstack-{up,down,status}; sourced, not run.
# Everything lives under one state directory: configs, SQLite databases,
# RabbitMQ's data, logs, pid files, secrets and openstack.env.

OS_DIR=${MAKONIS_OPENSTACK_DIR:-/var/tmp/makonis-peers/openstack}
OS_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OS_PY=/usr/bin/python3 # the packages' Python, not whatever python3 is first on PATH

# name:port of everything that listens (all on 127.0.0.1)
OS_SERVICES=(mariadb rabbitmq keystone placement glance nova-api neutron-stub nova-conductor nova-scheduler nova-compute)
declare -A OS_PORT=(
  [rabbitmq]=5672 [keystone]=5000 [placement]=8778 [glance]=9292
  [nova-api]=8774 [neutron-stub]=9696
)

os_pid() { # prints the pid of a service if it runs
  local f="$OS_DIR/run/$1.pid" pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

os_port_open() { # 0 if something listens on 127.0.0.1:$1
  (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

OS_MYSQL_SOCK="$OS_DIR/run/mysqld.sock" # MariaDB listens on this socket only

os_rabbit_env() {
  export RABBITMQ_NODENAME=makonis@localhost
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT=5672
  export RABBITMQ_DIST_PORT=25672
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE="$OS_DIR/data/rabbitmq/mnesia"
  export RABBITMQ_LOG_BASE="$OS_DIR/log/rabbitmq"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$OS_DIR/etc/rabbitmq/enabled_plugins"
  export RABBITMQ_CONF_ENV_FILE="$OS_DIR/etc/rabbitmq/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$OS_DIR/etc/rabbitmq/rabbitmq.conf"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_PID_FILE="$OS_DIR/run/rabbitmq-beam.pid"
  export HOME="$OS_DIR/data/rabbitmq" # .erlang.cookie, shared by server and rabbitmqctl
}

os_token_ok() { # 0 if keystone issues a token to admin
  local pw
  [ -s "$OS_DIR/secrets.env" ] || return 1
  pw=$(. "$OS_DIR/secrets.env" && echo "$ADMIN_PASSWORD")
  curl -fs -o /dev/null --max-time 10 -H 'Content-Type: application/json' \
    -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"'"$pw"'"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}' \
    http://127.0.0.1:5000/v3/auth/tokens
}
