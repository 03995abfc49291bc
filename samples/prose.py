"""Pools of realistic Vietnamese administrative prose for generated documents."""

from __future__ import annotations

SENTENCES = [
    "Thực hiện Luật Hộ tịch năm 2014 và các văn bản hướng dẫn thi hành, công tác đăng ký và quản lý hộ tịch trên địa bàn tỉnh đã đạt được nhiều kết quả quan trọng.",
    "Ủy ban nhân dân cấp xã có trách nhiệm đăng ký khai sinh, khai tử, kết hôn cho công dân cư trú tại địa phương đúng thời hạn quy định.",
    "Việc số hóa Sổ hộ tịch được thực hiện theo lộ trình, bảo đảm dữ liệu được cập nhật đầy đủ, chính xác vào Cơ sở dữ liệu hộ tịch điện tử.",
    "Đề nghị các cơ quan, đơn vị khẩn trương rà soát, tổng hợp số liệu và gửi báo cáo về Sở Tư pháp trước ngày 30 tháng 6.",
    "Trong quá trình thực hiện, nếu có khó khăn, vướng mắc, các địa phương kịp thời phản ánh về Sở Tư pháp để được hướng dẫn giải quyết.",
    "Công chức tư pháp - hộ tịch phải kiểm tra kỹ giấy tờ, đối chiếu thông tin trước khi ghi vào Sổ đăng ký khai sinh.",
    "Trường hợp phát hiện sai sót trong Sổ hộ tịch, công chức làm công tác hộ tịch lập biên bản và đề nghị cải chính theo quy định.",
    "Số liệu thống kê cho thấy tỷ lệ trẻ em dưới 5 tuổi được đăng ký khai sinh đúng hạn đạt trên 98%.",
    "Nhiều Sổ hộ tịch lưu trữ từ những năm trước đã bị ố vàng, rách nát, chữ viết mờ, cần được ưu tiên số hóa để bảo quản lâu dài.",
    "Người yêu cầu cấp bản sao trích lục hộ tịch có thể nộp hồ sơ trực tiếp hoặc qua Cổng dịch vụ công quốc gia.",
    "Kinh phí thực hiện nhiệm vụ được bố trí từ nguồn ngân sách nhà nước theo phân cấp hiện hành.",
    "Giao Sở Tư pháp chủ trì, phối hợp với Công an tỉnh và các cơ quan liên quan hướng dẫn, đôn đốc, kiểm tra việc thực hiện.",
    "Ủy ban nhân dân các huyện, thị xã, thành phố chỉ đạo Ủy ban nhân dân cấp xã tổ chức thực hiện nghiêm túc nội dung Công văn này.",
    "Việc kết nối, chia sẻ dữ liệu giữa Cơ sở dữ liệu hộ tịch điện tử và Cơ sở dữ liệu quốc gia về dân cư phải bảo đảm an toàn, bảo mật thông tin.",
    "Thông tin về số định danh cá nhân được cấp đồng thời với việc đăng ký khai sinh cho trẻ em.",
    "Cán bộ được giao nhiệm vụ phải chịu trách nhiệm trước pháp luật về tính chính xác của dữ liệu đã nhập.",
    "Các trường hợp đăng ký khai sinh quá hạn được giải quyết theo trình tự, thủ tục quy định tại Nghị định số 123/2015/NĐ-CP.",
    "Năm 2024, toàn tỉnh đã đăng ký khai sinh cho 15.342 trường hợp, khai tử 6.817 trường hợp và kết hôn 5.129 cặp.",
    "Đối với những Sổ hộ tịch bị mất, hư hỏng, Ủy ban nhân dân cấp xã báo cáo cơ quan cấp trên để có biện pháp khắc phục.",
    "Các nội dung không được quy định tại Kế hoạch này thực hiện theo các văn bản pháp luật hiện hành.",
    "Đề nghị Thủ trưởng các cơ quan, đơn vị quan tâm chỉ đạo, phối hợp thực hiện.",
    "Ủy ban nhân dân tỉnh yêu cầu các cơ quan, đơn vị nghiêm túc triển khai thực hiện, báo cáo kết quả đúng thời gian quy định.",
    "Dữ liệu hộ tịch sau khi số hóa phải được kiểm tra, đối chiếu với bản gốc trước khi đưa vào khai thác, sử dụng.",
    "Tiếp tục đẩy mạnh cải cách thủ tục hành chính, tăng cường ứng dụng công nghệ thông tin trong giải quyết thủ tục hộ tịch.",
    "Người dân không phải nộp bản sao giấy tờ đã có trong Cơ sở dữ liệu quốc gia về dân cư khi thực hiện thủ tục.",
    "Trong tháng, Phòng Tư pháp đã tổ chức kiểm tra công tác hộ tịch tại 12 xã, thị trấn và hướng dẫn khắc phục những tồn tại.",
    "Việc ghi chép Sổ hộ tịch phải rõ ràng, đầy đủ, không viết tắt, không tẩy xóa, sửa chữa.",
    "Sổ hộ tịch được lưu trữ vĩnh viễn tại Ủy ban nhân dân cấp xã và cơ quan quản lý hộ tịch cấp trên.",
    "Căn cứ tình hình thực tế, Ủy ban nhân dân tỉnh thông báo đến các cơ quan, đơn vị và Nhân dân được biết, thực hiện.",
    "Thời gian thực hiện từ ngày 01 tháng 3 đến hết ngày 31 tháng 12 năm 2025.",
    "Sở Tài chính tham mưu bố trí kinh phí để thực hiện các nhiệm vụ nêu trên.",
    "Qua kiểm tra, phần lớn hồ sơ đăng ký hộ tịch được lưu trữ đầy đủ, sắp xếp khoa học, thuận tiện cho việc tra cứu.",
    "Một số địa phương còn để xảy ra tình trạng chậm cập nhật dữ liệu, ảnh hưởng đến việc cấp số định danh cá nhân cho công dân.",
    "Sở Nội vụ phối hợp hướng dẫn việc chỉnh lý, sắp xếp tài liệu hộ tịch lưu trữ tại các địa phương.",
]

CLOSINGS = {
    "cong_van": "Trân trọng đề nghị các cơ quan, đơn vị quan tâm phối hợp thực hiện./.",
    "thong_bao": "Ủy ban nhân dân thông báo để các cơ quan, đơn vị, địa phương biết, thực hiện./.",
}

CV_SUBJECTS = [
    "tăng cường công tác đăng ký hộ tịch trên địa bàn tỉnh",
    "triển khai số hóa Sổ hộ tịch, dữ liệu hộ tịch lịch sử",
    "rà soát, cập nhật dữ liệu hộ tịch vào Cơ sở dữ liệu hộ tịch điện tử",
    "hướng dẫn cấp bản sao trích lục hộ tịch",
    "chấn chỉnh công tác đăng ký khai sinh, khai tử",
    "báo cáo kết quả thực hiện Đề án 06 năm 2024",
    "đề nghị cung cấp thông tin về tình trạng hôn nhân",
    "thực hiện liên thông thủ tục hành chính đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm y tế",
]
QD_SUBJECTS = [
    "phê duyệt Kế hoạch số hóa dữ liệu hộ tịch giai đoạn 2024 - 2026",
    "thành lập Tổ công tác triển khai số hóa Sổ hộ tịch",
    "ban hành Quy chế phối hợp trong công tác quản lý hộ tịch",
    "công bố danh mục thủ tục hành chính lĩnh vực hộ tịch",
    "giao chỉ tiêu số hóa dữ liệu hộ tịch năm 2025",
]
TB_SUBJECTS = [
    "kết luận của Chủ tịch Ủy ban nhân dân tỉnh tại cuộc họp về công tác hộ tịch",
    "lịch tiếp nhận hồ sơ đăng ký hộ tịch trong dịp Tết Nguyên đán",
    "tạm dừng tiếp nhận hồ sơ trực tiếp để nâng cấp hệ thống phần mềm",
]

CAN_CU = [
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
    "Căn cứ Luật Hộ tịch ngày 20 tháng 11 năm 2014;",
    "Căn cứ Nghị định số 123/2015/NĐ-CP ngày 15 tháng 11 năm 2015 của Chính phủ quy định chi tiết một số điều và biện pháp thi hành Luật Hộ tịch;",
    "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;",
    "Căn cứ Thông tư số 04/2020/TT-BTP ngày 28 tháng 5 năm 2020 của Bộ trưởng Bộ Tư pháp quy định chi tiết thi hành một số điều của Luật Hộ tịch;",
]

DIEU = [
    "Phê duyệt kèm theo Quyết định này nội dung nêu tại trích yếu, với các nhiệm vụ, giải pháp và lộ trình thực hiện cụ thể.",
    "Giao Sở Tư pháp chủ trì, phối hợp với các cơ quan, đơn vị liên quan tổ chức triển khai thực hiện, định kỳ báo cáo kết quả về Ủy ban nhân dân tỉnh.",
    "Kinh phí thực hiện được bố trí từ nguồn ngân sách nhà nước và các nguồn hợp pháp khác theo quy định.",
]

NOI_NHAN_BY_LEVEL = {
    "ubnd_huyen": [
        "UBND tỉnh;",
        "Sở Tư pháp;",
        "TT Huyện ủy;",
        "CT, các PCT UBND huyện;",
        "UBND các xã, thị trấn;",
        "Phòng Tư pháp;",
        "Công an huyện;",
    ],
    "ubnd_xa": [
        "UBND huyện;",
        "Phòng Tư pháp huyện;",
        "TT Đảng ủy;",
        "CT, PCT UBND xã;",
        "Các thôn, tổ dân phố;",
        "Công an xã;",
    ],
    "so_tu_phap": [
        "UBND tỉnh (b/c);",
        "Giám đốc, các PGĐ Sở;",
        "Phòng Tư pháp các huyện;",
        "UBND các xã, phường, thị trấn;",
        "Trang thông tin điện tử Sở;",
    ],
}
PROPOSERS = {
    "ubnd_tinh": "Theo đề nghị của Giám đốc Sở Tư pháp tại Tờ trình số {n}/TTr-STP ngày {d}.",
    "ubnd_huyen": "Theo đề nghị của Trưởng phòng Tư pháp huyện tại Tờ trình số {n}/TTr-TP ngày {d}.",
    "ubnd_xa": "Theo đề nghị của công chức Tư pháp - Hộ tịch.",
    "so_tu_phap": "Theo đề nghị của Trưởng phòng Hành chính tư pháp.",
}

NOI_NHAN_POOL = [
    "Bộ Tư pháp;",
    "Thường trực Tỉnh ủy;",
    "Thường trực HĐND tỉnh;",
    "CT, các PCT UBND tỉnh;",
    "Sở Tư pháp;",
    "Công an tỉnh;",
    "Sở Nội vụ;",
    "UBND các huyện, thị xã, thành phố;",
    "Cổng thông tin điện tử tỉnh;",
    "VPUB: CVP, PCVP;",
    "Phòng Tư pháp các huyện;",
]

HEADINGS = [
    "Tình hình đăng ký hộ tịch",
    "Kết quả số hóa Sổ hộ tịch",
    "Một số tồn tại, hạn chế",
    "Nhiệm vụ, giải pháp trong thời gian tới",
    "Tổ chức thực hiện",
    "Phần II. Đánh giá chung",
]
