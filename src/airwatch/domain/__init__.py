"""Pure domain logic: no Prefect, MLflow or storage imports, no I/O."""
