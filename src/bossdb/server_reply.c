/* server_reply.c — the server's responses: JSON bodies (BossDB's
 * {"status", "code", "message"} errors, DRF's {"detail"}, metadata) and voxel
 * bodies, which are streamed from memory by a reader callback so that the bytes
 * handed to the connection are counted for the access log and a body can be cut
 * short on purpose (fault injection: the full Content-Length is declared, half is
 * sent, then the connection is closed). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

enum { SRV_BODY_BLOCK = 64 * 1024 };

static enum MHD_Result queue(srv_request *r, unsigned status, struct MHD_Response *resp, const char *content_type) {
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (status == MHD_HTTP_UNAUTHORIZED) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Token");
    srv_in_flight_end(r);
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES) r->status = status;
    return ret;
}

enum MHD_Result srv_reply_json(srv_request *r, unsigned status, cJSON *body) {
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text) return MHD_NO;
    size_t len = strlen(text);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_COPY);
    cJSON_free(text);
    enum MHD_Result ret = queue(r, status, resp, "application/json");
    if (ret == MHD_YES) r->bytes = (int64_t)len;
    return ret;
}

enum MHD_Result srv_reply_error(srv_request *r, unsigned status, int code, const char *fmt, ...) {
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddNumberToObject(o, "status", status);
        cJSON_AddNumberToObject(o, "code", code);
        cJSON_AddStringToObject(o, "message", message);
    }
    return srv_reply_json(r, status, o);
}

enum MHD_Result srv_reply_detail(srv_request *r, unsigned status, const char *detail) {
    cJSON *o = cJSON_CreateObject();
    if (o) cJSON_AddStringToObject(o, "detail", detail);
    return srv_reply_json(r, status, o);
}

typedef struct {
    unsigned char *data;
    size_t len, send_len;
    srv_request *r; /* only touched while the request runs */
} srv_body;

static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max) {
    srv_body *b = cls;
    if (pos >= b->send_len) return MHD_CONTENT_READER_END_WITH_ERROR; /* cut short: close the connection */
    size_t n = b->send_len - (size_t)pos;
    if (n > max) n = max;
    memcpy(buf, b->data + pos, n);
    b->r->bytes += (int64_t)n;
    return (ssize_t)n;
}

static void body_free(void *cls) {
    srv_body *b = cls;
    free(b->data);
    free(b);
}

enum MHD_Result srv_reply_body(srv_request *r, const char *content_type, void *body, size_t len, size_t send_len) {
    MTN_ASSERT(send_len <= len);
    srv_body *b = malloc(sizeof *b);
    if (!b) {
        free(body);
        return srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, 5000, "server out of memory");
    }
    *b = (srv_body){body, len, send_len, r};
    struct MHD_Response *resp = MHD_create_response_from_callback(len, SRV_BODY_BLOCK, body_read, b, body_free);
    if (!resp) {
        body_free(b);
        return MHD_NO;
    }
    return queue(r, MHD_HTTP_OK, resp, content_type);
}
