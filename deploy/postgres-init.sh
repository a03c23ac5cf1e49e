#!/bin/bash
# Databases and roles of the MLflow and Prefect servers; run once by the postgres image on an empty
# volume. Passwords come from the container's environment (deploy/.env), never from this file.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username postgres \
  -v mlflow_pw="$MLFLOW_DB_PASSWORD" -v prefect_pw="$PREFECT_DB_PASSWORD" <<'SQL'
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_pw';
CREATE ROLE prefect LOGIN PASSWORD :'prefect_pw';
CREATE DATABASE mlflow OWNER mlflow;
CREATE DATABASE mlflow_auth OWNER mlflow;
CREATE DATABASE prefect OWNER prefect;
\connect prefect
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SQL
