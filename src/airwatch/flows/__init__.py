"""Thin Prefect flows, one per stage, and the flow that runs them all. Tasks call domain or I/O code."""
