"""The answering stages: retrieve -> evidence -> answerability -> generate -> verify -> compose."""
