"""The one step both shells run: a record in, `(role, key, value)` outputs out.

The live worker (`worker`) and the replay (`replay`) are thin shells around `Step`: they
differ in where records come from, where state is kept (`store`) and where outputs go,
never in how a record is decoded, scored, decided, dead-lettered or serialised.
"""
