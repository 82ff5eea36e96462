"""Label schema, annotation guidelines and the annotated corpus."""
