#!/bin/sh
# Entrypoint of the pipeline image (the four services share it).
#
# Started as root (the default): make the data folder (DATA_DIR, /data) belong to PUID:PGID
# (default 1000:1000; set them to `id -u` / `id -g` of the host user who owns ./data), then drop to
# that user with setpriv and run the command. Only the first start, or a change of PUID/PGID,
# changes ownership (recursively); the services make the folder layout themselves, as that user.
# Started as any other user (`user:` in compose, a Kubernetes securityContext): run the command.
#
# UMASK (default 002): the files and folders the services create are readable by everyone and
# writable by the group, so host users in PGID's group can drop files into the inboxes.
set -eu

umask "${UMASK:-002}"

if [ "$(id -u)" != "0" ]; then
  exec "$@"
fi

PUID="${PUID:-1000}"
PGID="${PGID:-1000}"
case "$PUID:$PGID" in
  *[!0-9:]* | :* | *:)
    echo "entrypoint: PUID and PGID must be numeric ids (got PUID=$PUID PGID=$PGID)" >&2
    exit 2
    ;;
esac
data="${DATA_DIR:-/data}"

mkdir -p "$data"
if [ "$(stat -c %u:%g "$data")" != "$PUID:$PGID" ]; then
  echo "entrypoint: giving $data to $PUID:$PGID" >&2
  chown -R "$PUID:$PGID" "$data"
fi

# HOME for the service user: libraries look there for their files (libpq's ~/.postgresql), and
# root's home is closed to it.
export HOME=/home/pipeline
[ "$(stat -c %u:%g "$HOME")" = "$PUID:$PGID" ] || chown "$PUID:$PGID" "$HOME"

exec setpriv --reuid="$PUID" --regid="$PGID" --clear-groups -- "$@"
