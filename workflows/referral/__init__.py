"""The referral lifecycle (DESIGN §4): one ReferralWorkflow per referral."""
