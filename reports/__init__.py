"""The annotators' report: where the model errs, which labels look wrong, what to annotate next."""
