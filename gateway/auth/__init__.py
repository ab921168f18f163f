"""Identity: principals, credentials and their verification."""
