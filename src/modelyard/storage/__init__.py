"""Storage: interfaces (Protocols) plus the SQL metadata store and the blob stores."""
