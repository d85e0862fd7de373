#!/bin/bash
# Runs once, on the first start of the compose PostgreSQL (docker-entrypoint-initdb.d).
# One role and one database per Netsterk service (no service reads another's tables), and a
# role for Temporal's auto-setup, which creates its own databases (temporal, temporal_visibility).
set -euo pipefail

SERVICES="${NETSTERK_DATABASES:-intake matching notifications reporting portal}"

for service in $SERVICES; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<-SQL
	CREATE ROLE netsterk_${service} LOGIN PASSWORD 'netsterk_${service}';
	CREATE DATABASE netsterk_${service} OWNER netsterk_${service};
	REVOKE ALL ON DATABASE netsterk_${service} FROM PUBLIC;
SQL
done

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<-SQL
	CREATE ROLE temporal LOGIN CREATEDB PASSWORD 'temporal';
SQL
