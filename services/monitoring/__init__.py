"""Monitoring: collecting CloudWatch, Auto Scaling and CodeDeploy data into the history database,
and the views the dashboards read from it."""
