"""The report: one document model rendered to Markdown and self-contained HTML."""
