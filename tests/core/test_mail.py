from django.core.mail import EmailMessage

from ofeli.core.mail import EmlFileBackend


def test_demo_mail_backend_writes_one_eml_file_per_message(settings, tmp_path):
    settings.MAIL_EML_DIR = tmp_path / "mails"
    sent = EmlFileBackend().send_messages(
        [EmailMessage("Activez votre compte OFeli", "Lien : http://x/activer/", to=["a@example.org"])]
    )
    assert sent == 1
    (eml,) = (tmp_path / "mails").glob("*.eml")
    content = eml.read_text()
    assert "a@example.org" in content and "activer" in content
