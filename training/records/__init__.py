"""The system of record: assignments, completions, certifications and their status;
transcripts, certificates, public verification."""
