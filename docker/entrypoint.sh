#!/bin/sh
# The container's entrypoint. `serve` (the image's default command) first brings the schema
# up to date with `skp migrate`, then becomes the server (exec: it receives SIGTERM itself).
# Any other arguments are an skp command: `docker compose run --rm hub participants list`.
set -eu

if [ "$#" -eq 0 ]; then
    set -- serve
fi

if [ "$1" = "serve" ]; then
    skp migrate
fi

exec skp "$@"
