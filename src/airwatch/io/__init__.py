"""I/O adapters: the store, EPA sources and the model registry. Every side effect lives here."""
