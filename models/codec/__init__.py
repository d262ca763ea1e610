"""Instance data codecs: RFC 7950 XML and RFC 7951 JSON to and from the generated classes.

``decode_xml`` / ``decode_json`` turn a document into a validated model (a whole datastore
``Root`` or any generated class, e.g. an rpc's input) or raise ``InstanceError`` listing
every issue with its instance path and RFC 6241 error-tag; ``encode_xml`` / ``encode_json``
write a model back in the canonical form.
"""

from models.codec.edit_xml import edit_from_xml
from models.codec.errors import InstanceError, Issue, from_validation_error
from models.codec.json import decode_json, encode_json
from models.codec.xml import decode_xml, encode_xml, to_bytes
from models.codec.xml_write import encode_xml_bytes

__all__ = [
    "InstanceError", "Issue", "decode_json", "decode_xml", "edit_from_xml", "encode_json", "encode_xml",
    "encode_xml_bytes", "from_validation_error", "to_bytes",
]
