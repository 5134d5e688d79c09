"""Great Expectations suites that gate publication, and the publish step itself."""
