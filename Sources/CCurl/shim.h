#ifndef RECIPROCITY_CCURL_SHIM_H
#define RECIPROCITY_CCURL_SHIM_H

#include <curl/curl.h>

// curl_easy_setopt is variadic, which Swift cannot call: one typed wrapper per kind of argument.
static inline CURLcode reciprocity_curl_set_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode reciprocity_curl_set_string(CURL *curl, CURLoption option, const char *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode reciprocity_curl_set_pointer(CURL *curl, CURLoption option, void *value) {
    return curl_easy_setopt(curl, option, value);
}

typedef size_t (*reciprocity_curl_read_callback)(char *buffer, size_t size, size_t count, void *context);

static inline CURLcode reciprocity_curl_set_read_function(CURL *curl, reciprocity_curl_read_callback callback) {
    return curl_easy_setopt(curl, CURLOPT_READFUNCTION, callback);
}

static inline long reciprocity_curl_response_code(CURL *curl) {
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

#endif
