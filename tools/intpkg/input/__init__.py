"""httpjson-style input engine: Go text/template, transforms, split, pagination, retry, rate limits."""
