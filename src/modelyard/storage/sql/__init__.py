"""SQL metadata store (SQLAlchemy 2 Core): SQLite by default, PostgreSQL at scale."""
