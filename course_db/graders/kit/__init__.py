"""The grading kit: what two or more lessons' graders use, named by what it does.

A lesson's grader (`graders/lessonNN.py`, or the package `graders/lessonNN/`) may import from here
and from the course's library; it never imports another lesson. When a second lesson needs
something a lesson's grader has, move it here first.

- `revisions`: the learner's revision chain, and the gate that stops a check when it is wrong.
- `squawk`: each revision's offline SQL, linted by squawk with the course's pinned settings.
- `workload`: an app's release running its queries in a thread while a revision runs.
- `values`: database values written the way the learner writes them, for messages.
"""
