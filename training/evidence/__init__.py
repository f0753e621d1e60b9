"""Evidence packets: one reproducible ZIP of everything the system holds about an officer's training."""
