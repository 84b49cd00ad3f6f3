"""Every block of headwater-notify passes the core BlockConformanceSuite."""

from __future__ import annotations

from headwater.testing import BlockConformanceSuite
from headwater_notify import CustomWebhook, DiscordWebhook, EmailServerCredentials, MicrosoftTeamsWebhook, SlackWebhook

SECRET = "https://hooks.example/services/pl4nted-Secret-url"


class TestSlackWebhook(BlockConformanceSuite):
    block_cls = SlackWebhook
    plugin_name = "notify"

    def make_block(self) -> SlackWebhook:
        return SlackWebhook(url=SECRET)


class TestMicrosoftTeamsWebhook(BlockConformanceSuite):
    block_cls = MicrosoftTeamsWebhook
    plugin_name = "notify"

    def make_block(self) -> MicrosoftTeamsWebhook:
        return MicrosoftTeamsWebhook(url=SECRET)


class TestDiscordWebhook(BlockConformanceSuite):
    block_cls = DiscordWebhook
    plugin_name = "notify"

    def make_block(self) -> DiscordWebhook:
        return DiscordWebhook(webhook_id="123", webhook_token="pl4nted-Secret-token")


class TestCustomWebhook(BlockConformanceSuite):
    block_cls = CustomWebhook
    plugin_name = "notify"

    def make_block(self) -> CustomWebhook:
        return CustomWebhook(url=SECRET, secret_headers={"Authorization": "Bearer pl4nted-Secret-bearer"})


class TestEmailServerCredentials(BlockConformanceSuite):
    block_cls = EmailServerCredentials
    plugin_name = "notify"

    def make_block(self) -> EmailServerCredentials:
        return EmailServerCredentials(smtp_server="smtp.example.org", username="etl", password="pl4nted-Secret-pw")
