"""The `sign` of SmsForwarder's webhook channel, written from the app's source
(pppscn/SmsForwarder, app/src/main/kotlin/cn/ppps/forwarder/utils/sender/WebhookUtils.kt,
3.5.0; before 3.5.0 the same code lived in com/idormy/sms/forwarder/...):

    val stringToSign = "$timestamp\n" + setting.secret
    val mac = Mac.getInstance("HmacSHA256")
    mac.init(SecretKeySpec(setting.secret.toByteArray(StandardCharsets.UTF_8), "HmacSHA256"))
    val signData = mac.doFinal(stringToSign.toByteArray(StandardCharsets.UTF_8))
    sign = URLEncoder.encode(String(Base64.encode(signData, Base64.NO_WRAP)), "UTF-8")

Usage: python smsforwarder_sign.py <secret> <timestamp>  (prints the sign as the
app puts it into `[sign]`, before any form encoding of the request).
"""

import base64
import hashlib
import hmac
import sys


def java_url_encode(text):
    """java.net.URLEncoder.encode(text, "UTF-8"): letters, digits and `.-*_` kept,
    space as `+`, every other UTF-8 byte as `%XX` in upper case (its Javadoc)."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char.isascii() and (char.isalnum() or char in ".-*_"):
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append("%%%02X" % byte)
    return "".join(out)


def sign(secret, timestamp):
    string_to_sign = "%s\n%s" % (timestamp, secret)
    sign_data = hmac.new(
        secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256
    ).digest()
    # android.util.Base64 NO_WRAP: standard alphabet, padded, no line breaks.
    return java_url_encode(base64.b64encode(sign_data).decode("ascii"))


if __name__ == "__main__":
    print(sign(sys.argv[1], sys.argv[2]))
