"""An officer taking a module: lessons, quizzes, acknowledgement."""
