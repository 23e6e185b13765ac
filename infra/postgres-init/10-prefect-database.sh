#!/bin/sh
# First start of the postgres container only: a second database for the Prefect server.
# (pg_trgm, which Prefect's migrations create, ships with the official postgres image.)
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -c "CREATE DATABASE prefect OWNER \"$POSTGRES_USER\""
