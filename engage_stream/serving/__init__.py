"""What both shells serve, loaded once and checked against each other: the heads the
registry names, the drafter over the knowledge bank, and the policy's label names."""
